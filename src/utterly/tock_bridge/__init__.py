"""`utterly tock-bridge`: an HTTP server that answers Tock Studio's Gen AI orchestrator
contract for sentence generation with Utterly's pipeline (docs/tock.md). A shell: the
contract's translation lives in `utterly.tock`, the generation in the core, a linked bot's
FAQs and runs in the Studio's services."""
