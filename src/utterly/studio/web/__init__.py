"""The Studio's web pages: server-rendered shells whose forms talk to the JSON API.

Every write goes through the API (one way to do each thing); the pages only render what the
user may see and carry the UI strings in the user's language.
"""
