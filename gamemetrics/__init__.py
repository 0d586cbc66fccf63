"""GameMetrics platform: settings, CLI, local stack and store shared by every stage."""
