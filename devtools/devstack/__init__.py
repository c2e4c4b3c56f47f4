"""Local stand-ins for the outside world: an S3 server (moto) and the API emulator."""
