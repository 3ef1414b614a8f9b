"""The emulator's state: resource groups, container groups, operations, validation, instance views, store, timers."""
