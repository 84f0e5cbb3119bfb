"""Tock's Gen AI orchestrator contract, as Utterly answers it: the wire bodies that Tock
Studio sends for sentence generation and setting checks (`contract`), its error codes
(`errors`), its prompt templates rendered in Utterly's sandbox (`prompt`), and the
translation of a request into Utterly's own (`translate`). No HTTP here: the server is
`utterly.tock_bridge`.
"""
