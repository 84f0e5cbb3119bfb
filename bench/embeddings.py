"""Which local embedding model should the filters use by default? Cost and quality.

    .venv/bin/python bench/embeddings.py [--models e5 use] [--clinc 300] [--seed 7]

Each model is measured in a fresh subprocess, so its peak RSS is its own: load time (import
+ first sentence), ms per sentence in a batch of 64 and alone, peak RSS delta. Quality is
what our filters need: a hand-labelled set of 15 French and 15 English FAQ questions, each
with 3 paraphrases (one in SMS spelling / with typos), one ANSWER (the drift a filter must
catch) and, as other negatives, the other questions of the same language. Pairs are
anchored on the original question, as the drift filter compares candidates to the inputs.
Optionally CLINC150 test pairs (same intent = positive). Never asserts: the figures go in
docs/quality.md. The labelled set also picks the thresholds, so those are optimistic.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLINC = ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"

# (question, [paraphrases, the last one in SMS spelling / with typos], answer)
FRENCH = [
    ("Comment réinitialiser mon mot de passe ?",
     ["J'ai oublié mon mot de passe, comment en créer un nouveau ?",
      "Que dois-je faire pour changer mon mot de passe perdu ?",
      "cmt reinitialiser mn mdp stp"],
     "Cliquez sur « Mot de passe oublié » sur la page de connexion."),
    ("Où en est ma commande ?",
     ["Pouvez-vous me dire où se trouve ma commande ?",
      "Je voudrais suivre l'avancement de ma commande.",
      "elle est ou ma comande ???"],
     "Votre commande a été expédiée hier et arrivera sous 48 heures."),
    ("Comment modifier mon adresse de livraison ?",
     ["Je souhaite changer l'adresse où je me fais livrer.",
      "Est-il possible de mettre à jour mon adresse de livraison ?",
      "jveux changer mon adresse de livrezon"],
     "Rendez-vous dans Mon compte, rubrique Adresses, puis cliquez sur Modifier."),
    ("Quels sont vos horaires d'ouverture ?",
     ["À quelle heure ouvrez-vous ?",
      "Vous êtes ouverts quand ?",
      "c koi vos horaires douverture"],
     "Nous sommes ouverts du lundi au samedi, de 9 h à 19 h."),
    ("Comment annuler mon abonnement ?",
     ["Je veux résilier mon abonnement, comment faire ?",
      "Quelle est la démarche pour mettre fin à mon abonnement ?",
      "cmt jannule mon abo"],
     "Vous pouvez résilier à tout moment depuis votre espace client, sans frais."),
    ("Puis-je payer en plusieurs fois ?",
     ["Est-ce qu'un paiement en plusieurs mensualités est possible ?",
      "Proposez-vous le paiement échelonné ?",
      "on peu payer en plusieur fois ?"],
     "Oui, le paiement en 3 ou 4 fois sans frais est proposé dès 100 euros d'achat."),
    ("Comment contacter le service client ?",
     ["Comment puis-je joindre votre service clientèle ?",
      "Quel est le numéro pour parler à un conseiller ?",
      "cmt on contacte le sav svp"],
     "Appelez le 01 23 45 67 89, du lundi au vendredi de 8 h à 20 h."),
    ("Ma carte bancaire a été refusée, que faire ?",
     ["Mon paiement par carte ne passe pas, comment faire ?",
      "Pourquoi ma carte bleue est-elle refusée ?",
      "ma cb march pa pr payer"],
     "Vérifiez le plafond de votre carte auprès de votre banque, puis réessayez."),
    ("Comment prendre rendez-vous en agence ?",
     ["Je voudrais un rendez-vous avec un conseiller en agence.",
      "Comment réserver un créneau dans votre agence ?",
      "jpeu avoir un rdv en agence"],
     "Choisissez un créneau dans l'onglet Rendez-vous de l'application."),
    ("Combien coûtent les frais de livraison ?",
     ["Quel est le prix de la livraison ?",
      "La livraison est-elle payante ?",
      "c combien la livraizon"],
     "La livraison est offerte dès 50 euros, sinon elle coûte 4,90 euros."),
    ("Comment retourner un article ?",
     ["Je veux renvoyer un produit, comment procéder ?",
      "Quelle est la procédure de retour d'un article ?",
      "cmt je renvoi un truc ke jai acheté"],
     "Imprimez l'étiquette de retour depuis votre compte et déposez le colis en point relais."),
    ("Où trouver ma facture ?",
     ["Comment télécharger ma facture ?",
      "Où puis-je consulter mes factures ?",
      "ou jtrouve ma facture"],
     "Vos factures sont dans Mon compte, rubrique Historique des commandes."),
    ("Comment supprimer mon compte ?",
     ["Je souhaite fermer définitivement mon compte.",
      "Comment effacer toutes mes données et mon compte ?",
      "supprimer mon conte svp"],
     "Envoyez votre demande de suppression depuis la page Confidentialité de vos paramètres."),
    ("Le magasin est-il ouvert le dimanche ?",
     ["Êtes-vous ouverts le dimanche ?",
      "Peut-on venir au magasin un dimanche ?",
      "vs etes ouvert le dimanch ?"],
     "Non, le magasin est fermé le dimanche et les jours fériés."),
    ("Comment utiliser mon code promo ?",
     ["Où dois-je saisir mon code de réduction ?",
      "Comment appliquer un bon de réduction à ma commande ?",
      "ou on met le code promo"],
     "Saisissez le code dans le champ prévu au moment du paiement."),
]

ENGLISH = [
    ("How do I reset my password?",
     ["I forgot my password, how can I set a new one?",
      "What should I do to change my lost password?",
      "how 2 reset my pasword pls"],
     "Click on 'Forgot password' on the login page."),
    ("Where is my order?",
     ["Can you tell me where my order is?",
      "I would like to track the status of my order.",
      "wheres my oder??"],
     "Your order was shipped yesterday and will arrive within 48 hours."),
    ("How can I change my delivery address?",
     ["I want to update the address my parcels are sent to.",
      "Is it possible to modify my shipping address?",
      "need 2 change my adress for delivery"],
     "Go to My account, then Addresses, and click Edit."),
    ("What are your opening hours?",
     ["What time do you open?",
      "When are you open?",
      "wat r ur opening hrs"],
     "We are open Monday to Saturday, 9am to 7pm."),
    ("How do I cancel my subscription?",
     ["I want to end my subscription, how do I do that?",
      "What is the process to stop my membership?",
      "how do i cancle my subscripton"],
     "You can cancel at any time from your customer area, free of charge."),
    ("Can I pay in instalments?",
     ["Is it possible to spread the payment over several months?",
      "Do you offer payment in installments?",
      "can i pay in sevral times"],
     "Yes, you can pay in 3 or 4 instalments at no extra cost from 100 euros."),
    ("How can I contact customer service?",
     ["How do I get in touch with your support team?",
      "What number do I call to speak to an agent?",
      "how 2 contact customer servise"],
     "Call 0800 123 456, Monday to Friday, 8am to 8pm."),
    ("My card was declined, what should I do?",
     ["My card payment does not go through, what can I do?",
      "Why was my credit card refused?",
      "my card got declind wat do i do"],
     "Check your card limit with your bank, then try again."),
    ("How do I book an appointment at a branch?",
     ["I would like to schedule a meeting with an advisor at a branch.",
      "How can I reserve a slot at your branch?",
      "can i get an apointment at the branch"],
     "Pick a slot in the Appointments tab of the app."),
    ("How much does shipping cost?",
     ["What is the price of delivery?",
      "Do you charge for shipping?",
      "how much 4 shiping"],
     "Shipping is free over 50 euros, otherwise it costs 4.90 euros."),
    ("How do I return an item?",
     ["I want to send a product back, how do I proceed?",
      "What is the return procedure for an item?",
      "how do i send bak something i bought"],
     "Print the return label from your account and drop the parcel at a pickup point."),
    ("Where can I find my invoice?",
     ["How do I download my invoice?",
      "Where can I see my bills?",
      "where r my invoices"],
     "Your invoices are in My account, under Order history."),
    ("How do I delete my account?",
     ["I want to close my account permanently.",
      "How can I erase my account and all my data?",
      "delete my acount pls"],
     "Send a deletion request from the Privacy page of your settings."),
    ("Is the store open on Sundays?",
     ["Are you open on Sunday?",
      "Can I come to the shop on a Sunday?",
      "r u open sundays"],
     "No, the store is closed on Sundays and public holidays."),
    ("How do I use my promo code?",
     ["Where do I enter my discount code?",
      "How can I apply a voucher to my order?",
      "where do i put the promo cod"],
     "Enter the code in the field provided at checkout."),
]


# ---------------------------------------------------------------- the worker (one model)

def _memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _near_duplicates(question: str, lang: str) -> list[str]:
    """Trivial rewrites a near-duplicate filter must reject (case, punctuation, fillers)."""
    greeting, please = ("Bonjour, ", " svp") if lang == "fr" else ("Hi, ", " please")
    bare = question.rstrip(" ?.!")
    return [bare.lower(), greeting + question[0].lower() + question[1:], bare + please]


def worker(model: str, clinc_pairs: list[tuple[str, str, int]]) -> dict:
    from utterly.embeddings.local import LocalEmbeddings

    rss_before = _memory_mb("VmRSS")
    started = time.perf_counter()
    embedder = LocalEmbeddings(model)
    embedder.embed_sync(["Bonjour"])
    load_s = time.perf_counter() - started

    sentences = [q for q, _, _ in FRENCH + ENGLISH] + [p for _, ps, _ in FRENCH + ENGLISH
                                                          for p in ps]
    batch = (sentences * 2)[:64]
    embedder.embed_sync(batch)  # warm caches before timing
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        embedder.embed_sync(batch)
        runs.append((time.perf_counter() - t) / len(batch) * 1000)
    singles = []
    for text in sentences[:40]:
        t = time.perf_counter()
        embedder.embed_sync([text])
        singles.append((time.perf_counter() - t) * 1000)

    sims: dict[str, dict[str, list[float]]] = {}
    for lang, items in (("fr", FRENCH), ("en", ENGLISH)):
        questions = [q for q, _, _ in items]
        q_vec = embedder.embed_sync(questions)
        groups = {"paraphrase": [], "sms": [], "answer": [], "other": [], "duplicate": []}
        for i, (question, paraphrases, answer) in enumerate(items):
            vec = embedder.embed_sync(paraphrases + [answer] + _near_duplicates(question, lang))
            scores = (vec @ q_vec[i]).tolist()
            groups["paraphrase"] += scores[:len(paraphrases)]
            groups["sms"].append(scores[len(paraphrases) - 1])
            groups["answer"].append(scores[len(paraphrases)])
            groups["duplicate"] += scores[len(paraphrases) + 1:]
            # another question's paraphrases too, not only its canonical wording
            others = [j for j in range(len(items)) if j != i]
            groups["other"] += [float(q_vec[j] @ q_vec[i]) for j in others]
            other_par = embedder.embed_sync([items[j][1][0] for j in others])
            groups["other"] += (other_par @ q_vec[i]).tolist()
        sims[lang] = groups

    clinc = {"positive": [], "negative": []}
    if clinc_pairs:
        texts = sorted({t for a, b, _ in clinc_pairs for t in (a, b)})
        vectors = dict(zip(texts, embedder.embed_sync(texts)))
        for a, b, label in clinc_pairs:
            clinc["positive" if label else "negative"].append(float(vectors[a] @ vectors[b]))

    return {"model": embedder.model, "dim": int(embedder.dim), "load_s": load_s,
            # best of 5: the host may be busy (builds), and noise only ever adds time
            "ms_batch": min(runs), "ms_single": statistics.median(singles),
            "rss_delta_mb": _memory_mb("VmHWM") - rss_before, "sims": sims, "clinc": clinc}


# ---------------------------------------------------------------- statistics

def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """P(random positive scores above random negative), ties count half (Mann-Whitney)."""
    pos, neg = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def best_threshold(positives: list[float], negatives: list[float]) -> tuple[float, float]:
    """Threshold (positive if >= t) with the best balanced accuracy, and that accuracy.

    Balanced, because the sets differ in size and both kinds of mistakes cost us."""
    pos, neg = np.asarray(positives), np.asarray(negatives)
    cuts = np.unique(np.concatenate([pos, neg]))
    best = (0.0, 0.0)
    for cut in cuts:
        acc = ((pos >= cut).mean() + (neg < cut).mean()) / 2
        if acc > best[1]:
            # midway to the next lower score generalises better than the exact score
            lower = np.concatenate([pos, neg])
            lower = lower[lower < cut]
            best = ((cut + lower.max()) / 2 if lower.size else cut, acc)
    return float(best[0]), float(best[1])


def clinc_pairs(n: int, seed: int) -> list[tuple[str, str, int]]:
    if n <= 0 or not CLINC.exists():
        return []
    data = json.loads(CLINC.read_text())
    by_intent: dict[str, list[str]] = {}
    for text, intent in data["test"]:
        by_intent.setdefault(intent, []).append(text)
    rng = random.Random(seed)
    intents = sorted(by_intent)
    pairs = []
    for k in range(n):
        if k % 2 == 0:
            intent = rng.choice(intents)
            a, b = rng.sample(by_intent[intent], 2)
            pairs.append((a, b, 1))
        else:
            i1, i2 = rng.sample(intents, 2)
            pairs.append((rng.choice(by_intent[i1]), rng.choice(by_intent[i2]), 0))
    return pairs


def report(results: list[dict]) -> None:
    print("\nCost (2-core host): ms/sentence = best of 5 batches of 64; single = median of 40")
    print(f"{'model':<24}{'dim':>5}{'load s':>8}{'ms/sent b64':>13}{'ms single':>11}"
          f"{'peak RSS +MB':>14}")
    for r in results:
        print(f"{r['model']:<24}{r['dim']:>5}{r['load_s']:>8.2f}{r['ms_batch']:>13.2f}"
              f"{r['ms_single']:>11.2f}{r['rss_delta_mb']:>14.0f}")

    print("\nQuality: cosine to the original question (mean); AUC and best balanced accuracy")
    print(f"{'model':<24}{'lang':<5}{'para':>6}{'sms':>6}{'dup':>6}{'other':>7}{'answer':>8}"
          f"{'AUC p/ans':>11}{'acc':>6}{'AUC p/oth':>11}{'acc':>6}")
    for r in results:
        for lang in ("fr", "en", "all"):
            if lang == "all":
                g = {k: r["sims"]["fr"][k] + r["sims"]["en"][k] for k in r["sims"]["fr"]}
            else:
                g = r["sims"][lang]
            m = {k: statistics.mean(v) for k, v in g.items()}
            auc_a, (_, acc_a) = (roc_auc(g["paraphrase"], g["answer"]),
                                 best_threshold(g["paraphrase"], g["answer"]))
            auc_o, (_, acc_o) = (roc_auc(g["paraphrase"], g["other"]),
                                 best_threshold(g["paraphrase"], g["other"]))
            print(f"{r['model']:<24}{lang:<5}{m['paraphrase']:>6.3f}{m['sms']:>6.3f}"
                  f"{m['duplicate']:>6.3f}{m['other']:>7.3f}{m['answer']:>8.3f}"
                  f"{auc_a:>11.3f}{acc_a:>6.2f}{auc_o:>11.3f}{acc_o:>6.2f}")
        c = r["clinc"]
        if c["positive"]:
            auc = roc_auc(c["positive"], c["negative"])
            _, acc = best_threshold(c["positive"], c["negative"])
            print(f"{r['model']:<24}{'clinc150 (en, same vs other intent)':<47}"
                  f"{statistics.mean(c['positive']):.3f} vs {statistics.mean(c['negative']):.3f}"
                  f"  AUC {auc:.3f} acc {acc:.2f}")

    print("\nRecommended thresholds (fr+en pooled; fitted on this small set, so optimistic)")
    print(f"{'model':<24}{'drift <':>8}{'acc':>6}{'keeps para':>12}{'keeps sms':>11}"
          f"{'drops ans':>11}{'drops oth':>11}{'near-dup >=':>13}{'acc':>6}")
    for r in results:
        g = {k: r["sims"]["fr"][k] + r["sims"]["en"][k] for k in r["sims"]["fr"]}
        drift, acc_d = best_threshold(g["paraphrase"], g["answer"] + g["other"])
        para = np.asarray(g["paraphrase"])
        # near-duplicates vs genuine paraphrases; the filter compares candidates together,
        # this is its proxy (trivial rewrites of a question vs real rewordings of it)
        dup, acc_n = best_threshold(g["duplicate"], g["paraphrase"])
        print(f"{r['model']:<24}{drift:>8.3f}{acc_d:>6.2f}{(para >= drift).mean():>12.0%}"
              f"{(np.asarray(g['sms']) >= drift).mean():>11.0%}"
              f"{(np.asarray(g['answer']) < drift).mean():>11.0%}"
              f"{(np.asarray(g['other']) < drift).mean():>11.0%}{dup:>13.3f}{acc_n:>6.2f}")
        # the lenient alternative: lose at most 1 paraphrase in 10, let more drift through
        lenient = float(np.quantile(para, 0.10))
        print(f"{'  lenient (keeps 90%)':<24}{lenient:>8.3f}{'':>6}"
              f"{(para >= lenient).mean():>12.0%}"
              f"{(np.asarray(g['sms']) >= lenient).mean():>11.0%}"
              f"{(np.asarray(g['answer']) < lenient).mean():>11.0%}"
              f"{(np.asarray(g['other']) < lenient).mean():>11.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["e5", "use"])
    parser.add_argument("--clinc", type=int, default=300, help="CLINC150 pairs (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pairs = clinc_pairs(args.clinc, args.seed)
    if args.worker:
        print(json.dumps(worker(args.worker, pairs)))
        return
    results = []
    for model in args.models:
        out = subprocess.run([sys.executable, __file__, "--worker", model, "--clinc",
                              str(args.clinc), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report(results)


if __name__ == "__main__":
    main()
