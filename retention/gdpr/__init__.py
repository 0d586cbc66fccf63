"""GDPR: erase, export and suppression requests across every store, with signed receipts."""
