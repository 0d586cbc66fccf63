"""Strawberry GraphQL API with live subscriptions and the analytics dashboard. Not built yet."""
