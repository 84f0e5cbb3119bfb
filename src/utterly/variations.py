"""Deterministic, locale-aware variations: spelling mistakes, SMS language, abbreviations.

Small models mostly ignore "write some sentences in SMS language"; the pipeline uses these
transforms to keep that promise on valid paraphrases.

    shows_variation("cmt réinitialiser mon mdp svp", "fr", "sms_language")          # True
    apply_variation("Comment réinitialiser mon mot de passe ?", "fr", "sms_language", seed=1)
    # -> "cmt réinitialiser mon mdp ?"  (another spelling with another seed)

Every transform is a pure function of (text, locale, kind, seed), seeded with its own
`random.Random`, so a run can be replayed. SMS and abbreviation tables exist for the
languages of `supported_languages()`; keyboard typos work for any Latin-script text.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

__all__ = [
    "KINDS", "apply_variation", "keyboard_neighbours", "shows_variation",
    "supported_languages", "variation_tokens",
]

KINDS = ("spelling_mistakes", "sms_language", "abbreviated_language")

# --------------------------------------------------------------------------- keyboards

# Letter rows only: a typo onto a digit or punctuation key reads as noise, not as a typo.
# Each row sits half a key to the right of the one above, as on a real keyboard.
_LAYOUTS: dict[str, tuple[str, ...]] = {
    "qwerty": ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    "azerty": ("azertyuiop", "qsdfghjklm", "wxcvbn"),
    "qwertz": ("qwertzuiopü", "asdfghjklöä", "yxcvbnm"),
}
_LAYOUT_BY_LANGUAGE = {"fr": "azerty", "de": "qwertz"}  # everything else: qwerty


@cache
def _neighbour_map(layout: str) -> dict[str, str]:
    rows = _LAYOUTS[layout]
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            near = [row[c - 1] if c > 0 else "", row[c + 1] if c + 1 < len(row) else ""]
            if r > 0:
                near += [rows[r - 1][i] for i in (c, c + 1) if i < len(rows[r - 1])]
            if r + 1 < len(rows):
                near += [rows[r + 1][i] for i in (c - 1, c) if 0 <= i < len(rows[r + 1])]
            out[key] = "".join(k for k in near if k)
    return out


def keyboard_neighbours(char: str, layout: str) -> str:
    """The letters around `char` on `layout` ("qwerty", "azerty", "qwertz"), in its case.

    Accented letters use their base key ("é" -> neighbours of "e"); other characters have none.
    """
    if layout not in _LAYOUTS:
        raise ValueError(f"unknown keyboard layout {layout!r}; expected one of {sorted(_LAYOUTS)}")
    if len(char) != 1:
        return ""
    near = _neighbour_map(layout).get(_strip_accents(char.lower()), "")
    return near.upper() if char.isupper() else near


# --------------------------------------------------------------------------- text helpers

def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(
        c for c in decomposed if not unicodedata.combining(c)))


def _language(locale: str) -> str:
    return (locale or "").replace("_", "-").split("-")[0].strip().lower()


def _key(text: str) -> str:
    # How table phrases and matched text meet: no case, no accents, one apostrophe, one space.
    text = _strip_accents(text.casefold()).replace("’", "'").replace("'", "")
    return re.sub(r"\s+", " ", text.replace("-", " ")).strip()


# URLs, e-mails, handles, numbers and codes are copied as they are: a typo or an SMS
# spelling there changes what the sentence refers to.
_PROTECTED_CHUNK = re.compile(r"[\d@/#_\\]|://|^www\.|\w\.\w", re.IGNORECASE)


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text) if _PROTECTED_CHUNK.search(m.group())]


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, new in sorted(edits):
        out += [text[last:start], new]
        last = end
    return "".join(out) + text[last:]


# --------------------------------------------------------------------------- tables

@dataclass(frozen=True)
class _Entry:
    phrase: str
    alternatives: tuple[str, ...]
    # chance of replacing a match: short function words in SMS are not always shortened,
    # which also gives different seeds different sentences
    weight: float


def _parse(table: str) -> tuple[_Entry, ...]:
    """Lines "phrase -> alt | alt [weight]"; a phrase may list spellings with " / "."""
    entries = []
    for line in table.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        phrases, _, rest = line.partition("->")
        weight = 1.0
        if m := re.search(r"\[([\d.]+)\]\s*$", rest):
            weight, rest = float(m.group(1)), rest[:m.start()]
        alts = tuple(a.strip() for a in rest.split("|") if a.strip())
        entries += [_Entry(p.strip(), alts, weight) for p in phrases.split(" / ")]
    return tuple(entries)


_SMS = {
    "fr": _parse("""
        qu'est-ce que -> keske | kesk
        est-ce que -> esk | eske
        je ne sais pas / je sais pas -> jsp
        ne t'inquiète pas / t'inquiète pas / t'inquiète -> tkt
        s'il te plaît -> stp
        s'il vous plaît -> svp
        mot de passe / mots de passe -> mdp
        rendez-vous -> rdv
        quelque chose -> qqch | qqc
        quelqu'un -> qqn
        parce que -> pcq | pck
        aujourd'hui -> auj | ajd
        je suis -> chui | jsuis
        d'accord -> dac | dacc
        peut-être -> ptet
        il y a -> ya
        ça va -> sava
        c'est -> c | cé
        salut -> slt
        bonjour -> bjr
        bonsoir -> bsr
        pourquoi -> pk | pq | pkoi
        beaucoup -> bcp
        quand -> qd | kan
        quoi -> koi
        toujours -> tjrs | tjs
        rien -> ri1
        demain -> dem1 | 2m1
        comment -> cmt | cmnt
        merci -> mrc | mci
        maintenant -> mtn | mnt
        vraiment -> vrmt
        message -> msg
        problème -> pb | pbm
        temps -> tps
        bien -> b1 [0.5]
        moi -> mwa [0.5]
        toi -> twa [0.5]
        tout -> tt [0.6]
        pour -> pr [0.6]
        dans -> ds [0.6]
        avec -> avc [0.6]
        vous -> vs [0.6]
        nous -> ns [0.6]
        qui -> ki [0.5]
        que -> ke [0.5]
    """),
    "en": _parse("""
        i don't know / i do not know -> idk
        as soon as possible -> asap
        by the way -> btw
        to be honest -> tbh
        in my opinion -> imo
        oh my god -> omg
        be right back -> brb
        right now -> rn
        thank you -> thx | ty
        thanks -> thx | thnx
        please -> pls | plz
        you're / you are -> ur
        your -> ur
        you -> u
        are -> r [0.7]
        before -> b4
        great -> gr8
        why -> y
        tomorrow -> tmrw | 2moro
        today -> 2day
        tonight -> 2nite
        later -> l8r
        because -> bc | cuz
        people -> ppl
        message -> msg
        messages -> msgs
        password -> pwd | pw
        what -> wat | wut
        really -> rly
        something -> smth | sth
        about -> abt
        probably -> prob | prolly
        good -> gd
        text -> txt
        okay -> ok | k
        to -> 2 [0.4]
        for -> 4 [0.4]
    """),
    "es": _parse("""
        no te preocupes -> ntp
        te quiero mucho -> tqm
        por favor -> xfa | porfa
        por qué / porque -> xq | pq
        también -> tb | tmb
        mensaje -> msj
        saludos -> salu2
        besos -> bss
        cuando -> cdo | qdo
        donde -> dnd
        tampoco -> tpc
        bueno -> bno
        bien -> bn [0.6]
        que -> q | k [0.6]
        por -> x [0.4]
    """),
    "de": _parse("""
        mit freundlichen grüßen -> mfg
        liebe grüße -> lg
        keine ahnung -> ka
        gute nacht -> gn8
        hab dich lieb -> hdl
        vielleicht -> vllt | vlt
        irgendwie -> iwie
        übrigens -> btw
        danke -> thx
    """),
}

_ABBREVIATIONS = {
    "fr": _parse("""
        s'il vous plaît -> svp
        s'il te plaît -> stp
        mot de passe / mots de passe -> mdp
        rendez-vous -> rdv
        c'est-à-dire -> c.-à-d. | càd
        par exemple -> p. ex.
        informations -> infos
        information -> info
        disponible -> dispo
        disponibles -> dispos
        disponibilité -> dispo
        disponibilités -> dispos
        application -> appli | app
        applications -> applis | apps
        réservation -> résa
        réservations -> résas
        numéro -> n° | num
        téléphone -> tél.
        minimum -> min
        maximum -> max
        environ -> env.
        approximativement -> approx.
        référence -> réf.
        abonnement -> abo
        documentation -> doc
        notification -> notif
        notifications -> notifs
        promotion -> promo
        promotions -> promos
        réduction -> réduc
        appartement -> appart
        administrateur / administration -> admin
        configuration -> config
        quantité -> qté
        restaurant -> resto
        ordinateur -> ordi
        publicité -> pub
        et cetera -> etc.
    """),
    "en": _parse("""
        as soon as possible -> asap | ASAP
        for your information -> fyi | FYI
        by the way -> btw
        for example -> e.g.
        et cetera -> etc.
        frequently asked questions -> FAQ
        estimated time of arrival -> ETA
        personal identification number -> PIN
        account -> acct
        accounts -> accts
        password -> pwd
        passwords -> pwds
        information -> info
        appointment -> appt
        appointments -> appts
        approximately -> approx.
        message -> msg
        messages -> msgs
        application -> app
        applications -> apps
        department -> dept.
        please -> pls
        tomorrow -> tmrw
        minutes -> mins
        minute -> min
        hours -> hrs
        maximum -> max
        minimum -> min
        quantity -> qty
        reference -> ref
        average -> avg
        configuration -> config
        administrator -> admin
        documents -> docs
        document -> doc
        telephone -> tel.
        international -> intl
        including -> incl.
        versus -> vs
        monday -> Mon
        tuesday -> Tue
        thursday -> Thu
        friday -> Fri
        february -> Feb
        august -> Aug
        september -> Sept
        october -> Oct
        november -> Nov
        december -> Dec
    """),
    "es": _parse("""
        por ejemplo -> p. ej.
        ustedes -> Uds.
        usted -> Ud. | Vd.
        número -> n.º | núm.
        teléfono -> tel. | tfno.
        aproximadamente -> aprox.
        información -> info
        aplicación -> app
        etcétera -> etc.
        departamento -> dpto. | depto.
        atentamente -> atte.
        máximo -> máx.
        mínimo -> mín.
    """),
    "de": _parse("""
        zum beispiel -> z. B. | z.B.
        und so weiter -> usw.
        unter anderem -> u. a.
        vor allem -> v. a.
        beziehungsweise -> bzw.
        circa / zirka -> ca.
        nummer -> Nr.
        telefon -> Tel.
        informationen -> Infos
        information -> Info
        eventuell -> evtl.
        gegebenenfalls -> ggf.
        inklusive -> inkl.
        mindestens -> mind.
        straße -> Str.
    """),
}

# Shortened spellings that are also ordinary words or symbols ("2 tickets", "vs" for
# versus, "x" in "3 x 2"): written by the transforms, but not taken as evidence.
_AMBIGUOUS = {
    "sms_language": {"en": {"2", "4", "k", "pw", "ok"}, "fr": {"vs", "ya", "pb"},
                     "es": {"x", "porfa"}, "de": set()},
    "abbreviated_language": {"en": {"mon", "tue", "thu", "fri", "feb", "aug", "sept", "oct",
                                    "nov", "dec", "faq", "eta", "pin", "vs"},
                             "fr": {"min", "max", "pub"}, "es": set(), "de": set()},
}

# Common SMS spellings the tables do not write but models and users do.
_EXTRA_SMS_TOKENS = {
    "fr": {"mdr", "ptdr", "lol", "jpp", "dsl", "oklm", "osef", "jtm", "stv", "cc", "bjour",
           "pkoi", "slt", "ki", "ke", "kan", "koi", "mwa", "twa", "keske", "esk"},
    "en": {"lol", "lmao", "np", "nvm", "jk", "ikr", "ttyl", "ily", "thnx", "thx", "cya",
           "bcuz", "2moro", "2nite", "gr8", "b4", "plz", "pls", "fyi"},
    "es": {"jaja", "xd", "tkm", "grax", "dnd"},
    "de": {"lol", "kp", "hdgdl"},
}
_EXTRA_ABBREVIATIONS = {
    "fr": {"resa", "resas", "tel", "svp", "rdv", "infos"},
    "en": {"acct", "appt", "approx", "pwd", "asap", "btw", "fyi", "info", "dept", "msg", "tmrw",
           "e.g", "i.e", "etc"},
    "es": {"info", "etc"},
    "de": {"z.B", "bzw", "usw", "ca", "Nr"},
}


def _tables(kind: str) -> dict[str, tuple[_Entry, ...]]:
    return _SMS if kind == "sms_language" else _ABBREVIATIONS


def supported_languages() -> set[str]:
    """Languages with SMS and abbreviation tables (typos work for any Latin-script text)."""
    return set(_SMS) & set(_ABBREVIATIONS)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown variation kind {kind!r}; expected one of {KINDS}")


@cache
def _tokens(language: str, kind: str) -> frozenset[str]:
    if kind == "spelling_mistakes" or language not in _tables(kind):
        return frozenset()
    extra = _EXTRA_SMS_TOKENS if kind == "sms_language" else _EXTRA_ABBREVIATIONS
    written = {alt.rstrip(".") for entry in _tables(kind)[language] for alt in entry.alternatives}
    tokens = {t.lower() for t in written | extra.get(language, set())}
    return frozenset(tokens - _AMBIGUOUS[kind].get(language, set()))


def variation_tokens(locale: str, kind: str) -> set[str]:
    """The spellings (lower case, no final dot) that `shows_variation` takes as evidence.

    Empty for spelling mistakes, which are recognised against a vocabulary instead.
    """
    _check_kind(kind)
    return set(_tokens(_language(locale), kind))


@cache
def _token_pattern(language: str, kind: str) -> re.Pattern[str] | None:
    tokens = sorted(_tokens(language, kind), key=len, reverse=True)
    if not tokens:
        return None
    parts = []
    for token in tokens:
        # An apostrophe may precede ("l'appli"), but "c'est" is not the SMS "c", and
        # "U.S." is not the SMS "u".
        tail = r"(?![\w@/-]|['’]\w|\.\w)" if token[-1].isalnum() else ""
        parts.append(re.escape(token) + tail)
    return re.compile(r"(?<![\w@/.-])(?:" + "|".join(parts) + ")", re.IGNORECASE)


def _shows_token(text: str, language: str, kind: str) -> bool:
    pattern = _token_pattern(language, kind)
    if pattern is None:
        return False
    for m in pattern.finditer(text):
        found = m.group()
        letters = [c for c in found if c.isalpha()]
        if len(letters) == 1 and len(found) == 1 and not found.islower():
            continue  # "C" and "U" are letters and initials; the SMS ones are lower case
        if found.isalpha() and found.isupper() and len(found) < 3:
            continue  # "PR", "DS", "BC" are acronyms more often than SMS
        return True
    return False


# --------------------------------------------------------------------------- table transforms

@cache
def _phrase_pattern(language: str, kind: str) -> tuple[re.Pattern[str], dict[str, _Entry]] | None:
    entries = _tables(kind).get(language)
    if not entries:
        return None
    by_key: dict[str, _Entry] = {}
    parts = []
    for entry in sorted(entries, key=lambda e: len(e.phrase), reverse=True):
        by_key.setdefault(_key(entry.phrase), entry)
        regex = []
        for ch in entry.phrase:
            if ch in "'’":
                regex.append("['’]?")  # users often drop it: "cest", "dont know"
            elif ch == " ":
                regex.append(r"\s+")
            elif ch == "-":
                regex.append(r"[-\s]")
            elif (base := _strip_accents(ch)) != ch:
                regex.append(f"[{ch}{base}]")  # "s'il vous plait" is still "svp"
            else:
                regex.append(re.escape(ch))
        parts.append("".join(regex))
    # A hyphen on either side means another word: "rendez-vous" is not "vous".
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)
    return pattern, by_key


def _cased(replacement: str, matched: str) -> str:
    letters = [c for c in matched if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if matched[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _table_transform(text: str, language: str, kind: str, rng: random.Random) -> str | None:
    compiled = _phrase_pattern(language, kind)
    if compiled is None:
        return None
    pattern, by_key = compiled
    protected = _protected_spans(text)
    matches = [(m, by_key[_key(m.group())]) for m in pattern.finditer(text)
               if not _overlaps(m.span(), protected) and _key(m.group()) in by_key]
    if not matches:
        return None
    chosen: dict[int, str | None] = {}
    for i, (_, entry) in enumerate(matches):
        # Written abbreviations are optional, one by one: which ones a sentence uses is
        # where seeds differ, since most have a single spelling.
        weight = entry.weight if kind == "sms_language" or len(matches) == 1 else 0.7
        alt = rng.choice(entry.alternatives)  # drawn even when unused: keeps draws aligned
        chosen[i] = alt if rng.random() < weight else None

    def render() -> str:
        edits = []
        for i, (m, _) in enumerate(matches):
            if (alt := chosen[i]) is not None:
                new = alt.lower() if kind == "sms_language" else _cased(alt, m.group())
                edits.append((m.start(), m.end(), new))
        return _splice(text, edits)

    out = render()
    if not _shows_token(out, language, kind):
        # The dice kept only ambiguous spellings ("2", "vs"): force one that reads as the variation.
        order = list(range(len(matches)))
        rng.shuffle(order)
        for i in order:
            alternatives = matches[i][1].alternatives
            good = [a for a in alternatives if _shows_token(a.lower(), language, kind)]
            if good:
                chosen[i] = rng.choice(good)
                out = render()
                break
    return out if _shows_token(out, language, kind) else None


_FINAL_PUNCTUATION = re.compile(r"\s*[?!.…]+\s*$")


def _sms_finish(text: str, rng: random.Random) -> str:
    # SMS writers rarely capitalise or punctuate; acronyms keep their capitals.
    if m := re.match(r"\s*([^\W\d_]+)", text):
        word = m.group(1)
        if word[:1].isupper() and not any(c.isupper() for c in word[1:]):
            text = text[:m.start(1)] + word[0].lower() + word[1:] + text[m.end(1):]
    if rng.random() < 0.8:
        stripped = re.sub(r"^(\s*)[¿¡]\s*", r"\1", _FINAL_PUNCTUATION.sub("", text))
        if stripped.strip():
            text = stripped
    return text


# An SMS politeness marker: adds no content, reads naturally at the end of a request.
_SMS_TAIL = {"fr": ("stp", "svp"), "en": ("pls", "plz"), "es": ("xfa",), "de": ("thx",)}


def _sms_fallback(text: str, language: str, rng: random.Random) -> str | None:
    if language not in _SMS_TAIL or len(re.findall(r"[^\W\d_]{2,}", text)) < 2:
        return None
    tails = _SMS_TAIL[language]
    if language == "fr":
        # "svp" for a sentence that says "vous", "stp" otherwise: keep the register
        polite = re.search(r"(?<![\w])(?:vous|vos|votre)(?![\w])", text, re.IGNORECASE)
        tails = ("svp",) if polite else ("stp",)
    body = _FINAL_PUNCTUATION.sub("", text).rstrip()
    if not body:
        return None
    return _sms_finish(f"{body} {rng.choice(tails)}", random.Random(rng.random()))


# --------------------------------------------------------------------------- spelling mistakes

_WORD = re.compile(r"[^\W\d_]+")

# Frequent chatbot words: a word one typo away from one of these, and not itself in the
# list, is taken as a spelling mistake. Inflections are listed so that "orders" is no typo
# of "order"; final letters are never compared for the same reason.
_VOCABULARY = {
    "en": set("""
        about account accounts activate address after again already answer anyone anything
        appointment appointments available because before being bought booking bookings
        cancel cancelled canceled cancelling canceling cancellation change changed charge
        charged charges check checkout close closed closing contact could credit customer
        delete deleted delivery delivered deliver department details different email error
        every extra forgot forgotten found getting great happened having hello holiday
        information instead invoice invoices later login logged message messages money month
        monthly never number numbers online opening order ordered orders other password
        passwords payment payments people phone place please possible price prices problem
        product products purchase question questions really receive received refund refunds
        register remove renew reservation reset return returned returns right schedule
        service settings shipping should since something store subscription support thank
        thanks there these thing things think through ticket tickets today tomorrow track
        tracking transfer trying unable update upgrade using until verify website where
        which while without would wrong years yesterday hours opening change cards
        address addresses account login sign username
        were with have that this from they your when what will them then than here some
        into over just like does done made make need want know take give find tell send
        sent paid open card cart late item items ship shop sale cost fees form help hour
        mail more most name next only page plan time user very week well work year long
        last lost left also able back been both came come each even ever free good info
        kind many much must once same soon sure used uses wait went word days other their
        while whose whole world write those three words order older under using
    """.split()),
    "fr": set("""
        abonnement abonnements accès achat achats adresse adresses aider annuler annulation
        annulé annulée appeler application après argent avoir besoin bonjour bonsoir boutique
        cadeau carte cartes changer changé chose client clients colis combien commande
        commandes commandé commandée commander comment compte comptes connecter connexion
        contact contacter courriel demain demande depuis dernier dernière disponible
        disponibles donner encore envoyer envoyé erreur facture factures faire faite faites
        fonctionne frais heure heures horaires impossible information informations
        inscription jamais livraison livré livrée livrer magasin maintenant merci message
        messages modifier moment montant numéro ouvert ouverte ouverture paiement panier
        passe payer payé personne pourquoi pouvez pouvoir premier première prix problème
        produit produits quand quelle quelles quels rembourser remboursement retour retourner
        réinitialiser réservation réserver service suivre suivi téléphone toujours trouver
        trouve utiliser vérifier voudrais votre vouloir veux voulez peux peut faut
        possible changement oublié perdu mettre mise réseau site connecté
        mais dans pour avec sont elle elles nous vous leur leurs plus tout tous toute
        toutes bien fait faut suis avez avons très quel donc sans sous chez quoi comme
        cette être alors aussi autre autres temps jour jours mois fois lien code mail part
        reçu reçois envoie notre cela ceci celui entre avant selon puis peut-on veut
        veulent savoir comment depuis aucun aucune même mêmes vers voir vais avait était
        sera serait pouvez pourrais pourriez dois doit doivent faire fais moins
    """.split()),
}


def _eligible_words(text: str) -> list[re.Match[str]]:
    protected = _protected_spans(text)
    words = []
    for m in _WORD.finditer(text):
        word = m.group()
        if len(word) < 4 or _overlaps(m.span(), protected):
            continue
        if any(c.isupper() for c in word[1:]):
            continue  # acronyms and brand names ("SNCF", "iPhone", "McDo") stay as written
        if not all(unicodedata.name(c, "").startswith("LATIN") for c in word):
            continue  # keyboard typos are a Latin-keyboard thing
        words.append(m)
    return words


def _typo(word: str, layout: str, rng: random.Random) -> str | None:
    """One realistic typo, never on the first letter, in the case of the letter it replaces."""
    n = len(word)
    ops: list[tuple[str, int]] = []
    for i in range(1, n):
        ch = word[i]
        accented = _strip_accents(ch) != ch
        if not accented:
            ops.append(("double", i))  # "rééinitialiser" is not a slip anyone makes
        if i == n - 1:
            # Changing the last letter reads as grammar ("orders" -> "order"), and
            # `shows_variation` cannot tell it from an inflection either.
            continue
        ops.append(("drop", i))
        if keyboard_neighbours(ch, layout):
            ops.append(("neighbour", i))
        if i + 1 < n - 1 and word[i + 1] != ch:
            ops.append(("swap", i))
        if accented:
            ops.append(("accent", i))  # "reinitialiser": the most common French slip
    if not ops:
        return None
    op, i = rng.choice(ops)
    ch = word[i]
    if op == "neighbour":
        return word[:i] + rng.choice(keyboard_neighbours(ch, layout)) + word[i + 1:]
    if op == "double":
        return word[:i] + ch + word[i:]
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "swap":
        return word[:i] + word[i + 1] + ch + word[i + 2:]
    return word[:i] + _strip_accents(ch) + word[i + 1:]


def _spelling_transform(text: str, language: str, rng: random.Random) -> str | None:
    words = _eligible_words(text)
    if not words:
        return None
    layout = _LAYOUT_BY_LANGUAGE.get(language, "qwerty")
    vocabulary = _VOCABULARY.get(language, set())
    # Typos in known words first, so that the sentence is recognised as carrying them.
    known = [m for m in words if m.group().lower() in vocabulary and len(m.group()) >= 5]
    rest = [m for m in words if m not in known]
    rng.shuffle(known)
    rng.shuffle(rest)
    count = rng.choice((1, 1, 2))
    edits = []
    for m in known + rest:
        if len(edits) == count:
            break
        for _ in range(5):
            # "Where" -> "Were" is a typo nobody sees: retry when the slip makes a known word
            new = _typo(m.group(), layout, rng)
            if new is not None and new != m.group() and new.lower() not in vocabulary:
                edits.append((m.start(), m.end(), new))
                break
    return _splice(text, edits) if edits else None


def _is_typo_of(word: str, known: str, layout: str) -> bool:
    if word[:1] != known[:1]:
        return False
    if len(word) == len(known) + 1:  # doubled letter
        return any(word[i] == word[i - 1] and word[:i] + word[i + 1:] == known
                   for i in range(1, len(word)))
    if len(word) == len(known) - 1:  # dropped letter, not the last one
        return any(known[:i] + known[i + 1:] == word for i in range(1, len(known) - 1))
    if len(word) != len(known):
        return False
    diff = [i for i in range(len(word)) if word[i] != known[i]]
    if not diff or diff[-1] == len(word) - 1:
        return False
    if all(_strip_accents(known[i]) == word[i] for i in diff):
        return True
    if len(diff) == 1:
        i = diff[0]
        return word[i] in keyboard_neighbours(known[i], layout)
    return (len(diff) == 2 and diff[1] == diff[0] + 1
            and word[diff[0]] == known[diff[1]] and word[diff[1]] == known[diff[0]])


def _shows_typo(text: str, language: str) -> bool:
    vocabulary = _VOCABULARY.get(language)
    if not vocabulary:
        return False  # not knowing the words, we cannot tell a typo from a rare word
    layout = _LAYOUT_BY_LANGUAGE.get(language, "qwerty")
    for m in _eligible_words(text):
        word = m.group().lower()
        if word in vocabulary:
            continue
        if any(abs(len(word) - len(known)) <= 1 and _is_typo_of(word, known, layout)
               for known in vocabulary if len(known) >= 5):
            return True
    return False


# --------------------------------------------------------------------------- public API

def shows_variation(text: str, locale: str, kind: str) -> bool:
    """Does `text` already visibly carry this variation?

    Conservative: a false "no" costs one more transform, a false "yes" a missing variation.
    """
    _check_kind(kind)
    language = _language(locale)
    if kind == "spelling_mistakes":
        return _shows_typo(text, language)
    return _shows_token(text, language, kind)


def apply_variation(text: str, locale: str, kind: str, *, seed: int) -> str | None:
    """`text` with the variation applied, or None when nothing applies.

    SMS and abbreviations need the language's tables (`supported_languages()`); spelling
    mistakes need Latin-script words of four letters or more.
    """
    _check_kind(kind)
    language = _language(locale)
    rng = random.Random(f"{seed}:{kind}:{language}:{text}")
    if kind == "spelling_mistakes":
        out = _spelling_transform(text, language, rng)
    else:
        out = _table_transform(text, language, kind, rng)
    if kind == "sms_language":
        out = (_sms_finish(out, rng) if out is not None
               else _sms_fallback(text, language, rng))
        if out is not None and not _shows_token(out, language, kind):
            out = None
    if out is None or not out.strip() or out == text:
        return None
    return out
