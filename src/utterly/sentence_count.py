"""How many sentences one generation asks for: the default, the bound and its hint, defined
here only. The library, the CLI's help, the Studio (API schemas, pages, error hints) and
the Tock bridge read them (tests/test_sentence_count.py changes them and sees each follow);
this module imports nothing, so a command starts without pydantic.

The count is called `n` from end to end: the CLI's `-n` (`--number` spelt out),
`generate(n=)`, `GenerationRequest.n`, the pipeline, the Studio's `n` of a generation and of
a bulk job, and the request a run stores (`GenerationRun.request["n"]`). `n` was the word of
every public entry and of the stored runs already; any other would have broken callers and
needed a data migration. Three other names remain, each for a reason:

- `nb_sentences` is Tock's word: its orchestrator's `inputs` (utterly/tock/), and the bot's
  Sentence generation settings, which copy Tock's (the REST field, the page's form, the stored
  column): the bot's default `n`. It is also the prompt template's variable, which user
  templates use: the sentences *this prompt* asks for, its share of what is missing plus some
  spare (the pipeline's `per_prompt`), not `n`.
- `requested` is `n` as a result gives it back beside `kept` (GenerationResult, the REST
  GenerateOut, the progress events, the `too_few_passed` notice that stored runs keep): an
  output that callers and stored runs read, so it keeps its name.
- `asked`, in a progress event and a trace's attempt, is what one attempt still lacks
  (`n` minus what is kept), not `n`.
"""

DEFAULT_SENTENCES = 10
MAX_SENTENCES = 50
# What to do about a count out of bounds: the library's errors and the API's problems say it
BOUNDS_HINT = f"ask for 1 to {MAX_SENTENCES} sentences"
