"""The room's events: stored with the change that made them, published after its commit."""
