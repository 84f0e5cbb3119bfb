"""The Studio service: storage, REST API, users and roles around the generation core.

The core (`utterly.generation`, providers, quality) knows nothing of this package; this
package is a shell that stores what the core produces and decides who may ask for it.
"""
