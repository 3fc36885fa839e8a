"""Live streams of SLA events: Server-Sent Events and WebSocket, resumable from the event log."""
