"""FAQ-style questions for the benchmarks: 10 French, 10 English."""

FRENCH = [
    "Comment réinitialiser mon mot de passe ?",
    "Où en est ma commande ?",
    "Comment modifier mon adresse de livraison ?",
    "Quels sont vos horaires d'ouverture ?",
    "Comment annuler mon abonnement ?",
    "Puis-je payer en plusieurs fois ?",
    "Comment contacter le service client ?",
    "Ma carte bancaire a été refusée, que faire ?",
    "Comment prendre rendez-vous en agence ?",
    "Combien coûtent les frais de livraison ?",
]

ENGLISH = [
    "How do I reset my password?",
    "Where is my order?",
    "How can I change my delivery address?",
    "What are your opening hours?",
    "How do I cancel my subscription?",
    "Can I pay in instalments?",
    "How can I contact customer service?",
    "My card was declined, what should I do?",
    "How do I book an appointment at a branch?",
    "How much does shipping cost?",
]
