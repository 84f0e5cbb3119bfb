"""How many sentences one generation asks for: the default and the bound, defined here
only. The library, the CLI's help, the Studio (API schemas, pages, error hints) and the Tock
bridge read them; this module imports nothing, so a command starts without pydantic."""

DEFAULT_SENTENCES = 10
MAX_SENTENCES = 50
