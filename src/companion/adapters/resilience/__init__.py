"""Decorators that keep a port answering when its remote adapter does not: the chat
model falls back to the offline one, the shared cache to the in-process one."""
