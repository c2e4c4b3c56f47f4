"""Local tooling for development and tests: the API emulator and the local stacks. Not part of
the deployable package (`dags/`, `include/`, `plugins/`); nothing there imports it."""
