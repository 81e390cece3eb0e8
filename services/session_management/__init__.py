"""Session management: the domain and Lambda handlers behind the speech-translation WebSocket API."""
