"""Words the demo seed assembles into believable ideas, comments and people (English and French)."""

FIRST_NAMES = [
    "Alice", "Bruno", "Camille", "David", "Emma", "Farid", "Gabrielle", "Hugo", "Inès", "Jules",
    "Karim", "Léa", "Manon", "Nathan", "Olivia", "Paul", "Quentin", "Rose", "Samir", "Théo",
    "Ursula", "Victor", "Wendy", "Xavier", "Yasmine", "Zoé", "Aiden", "Beatriz", "Chen", "Dmitri",
    "Elif", "Fatima", "Grace", "Hiroshi", "Ingrid", "Jonas", "Kofi", "Lucia", "Mateo", "Nadia",
]
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Smith", "Johnson", "Brown", "Nguyen", "Kowalski",
    "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Okafor", "Müller", "Rossi", "Silva", "Haddad",
]

SUBJECTS_EN = [
    "the support app", "the online store", "the driver updater", "the docking station", "the warranty portal",
    "the laptop BIOS", "the monitor menu", "order tracking", "the premium support chat", "the battery manager",
    "the fleet management console", "the product configurator", "the returns process", "the mobile app",
    "the community forum", "the firmware installer", "the recovery tool", "the invoice page",
]
SUBJECTS_FR = [
    "l'application d'assistance", "la boutique en ligne", "l'outil de mise à jour des pilotes",
    "la station d'accueil", "le portail de garantie", "le BIOS des portables", "le menu des écrans",
    "le suivi de commande", "le chat du support premium", "le gestionnaire de batterie",
    "la console de gestion de parc", "le configurateur de produits", "les retours", "l'application mobile",
]

TITLES_EN = [
    "Add a dark mode to {s}", "Let me export my history from {s} as CSV", "Show delivery estimates in {s}",
    "Make {s} work offline", "Support two-factor sign-in for {s}", "Speed up search in {s}",
    "Offer a French version of {s}", "Send a notification when {s} has news for me", "Simplify the checkout in {s}",
    "Let administrators manage users in bulk in {s}", "Add keyboard shortcuts to {s}",
    "Make {s} accessible to screen readers", "Allow scheduling updates in {s}", "Show clear error messages in {s}",
    "Publish an API for {s}", "Remember my preferences in {s}", "Reduce the number of clicks in {s}",
    "Give {s} a larger font option", "Let teams share carts in {s}", "Show the carbon footprint in {s}",
]
TITLES_FR = [
    "Ajouter un mode sombre à {s}", "Pouvoir exporter mon historique depuis {s} en CSV",
    "Afficher les délais de livraison dans {s}", "Rendre {s} utilisable hors connexion",
    "Proposer la double authentification pour {s}", "Accélérer la recherche dans {s}",
    "Envoyer une notification quand {s} a du nouveau", "Simplifier la commande dans {s}",
    "Ajouter des raccourcis clavier à {s}", "Rendre {s} accessible aux lecteurs d'écran",
    "Planifier les mises à jour dans {s}", "Afficher des messages d'erreur clairs dans {s}",
    "Publier une API pour {s}", "Mémoriser mes préférences dans {s}",
]

REASONS_EN = [
    "I use it every day and this would save me several minutes each time.",
    "Our IT team manages hundreds of machines and this is our biggest pain point.",
    "Competitors already offer this, and customers ask us about it.",
    "It would make the product usable for colleagues with low vision.",
    "Right now I have to call support for something that should be self-service.",
    "This matters most when travelling with a poor connection.",
]
REASONS_FR = [
    "Je l'utilise tous les jours et cela me ferait gagner plusieurs minutes à chaque fois.",
    "Notre équipe informatique gère des centaines de postes : c'est notre principal irritant.",
    "Les concurrents le proposent déjà et nos clients nous le demandent.",
    "Cela rendrait le produit utilisable par des collègues malvoyants.",
    "Aujourd'hui je dois appeler le support pour une chose qui devrait être en libre-service.",
]
PROPOSALS_EN = [
    "- a setting in the preferences page\n- on by default for new accounts\n- documented in the help centre",
    "A simple toggle would be enough to start; advanced options can come later.",
    "Ideally it should also be available through the **API**, so we can automate it.",
    "See how other tools do it: a clear button, a confirmation, and an undo.",
]
PROPOSALS_FR = [
    "- un réglage dans la page des préférences\n- activé par défaut pour les nouveaux comptes\n- documenté dans l'aide",
    "Un simple interrupteur suffirait pour commencer ; les options avancées pourront suivre.",
    "Idéalement ce serait aussi disponible via l'**API**, pour l'automatiser.",
]

COMMENTS_EN = [
    "+1, we need this for our whole team.", "Same here, this would help a lot.",
    "Could this also cover the business accounts?", "I would rather see the performance issues fixed first.",
    "We built a workaround with a script, but a native option would be much better.",
    "Great idea. Please keep it simple though.", "Any update on this one?",
    "This is exactly what I was about to suggest.",
]
COMMENTS_FR = [
    "+1, nous en avons besoin pour toute l'équipe.", "Pareil ici, cela aiderait beaucoup.",
    "Est-ce que cela couvrirait aussi les comptes professionnels ?", "Excellente idée, mais gardez-la simple.",
    "Des nouvelles sur ce sujet ?", "C'est exactement ce que j'allais proposer.",
]

TAGS = [
    "mobile", "accessibility", "performance", "security", "billing", "ux", "api", "notifications",
    "offline", "enterprise", "i18n", "privacy", "hardware", "firmware", "support",
]

RESPONSES = {
    "under_review": [
        "Thanks for the suggestion: our product team is looking into it.",
        "Merci pour la suggestion : l'équipe produit l'étudie.",
    ],
    "planned": [
        "Good news: this is on our roadmap for the next release.",
        "Bonne nouvelle : c'est prévu pour la prochaine version.",
    ],
    "in_progress": ["Our engineers are working on it right now.", "Nos ingénieurs y travaillent en ce moment."],
    "implemented": [
        "Done! It shipped in the latest update. Thank you to everyone who promoted it.",
        "C'est fait ! Disponible dans la dernière mise à jour. Merci à tous ceux qui l'ont soutenue.",
    ],
    "declined": [
        "Thank you, but this does not fit our product direction; we explained why in the comments.",
        "Merci, mais cela ne correspond pas à l'orientation du produit.",
    ],
}


# The default categories' French names and descriptions, by address (see ideas/defaults.py).
CATEGORIES_FR = {
    "products": ("Produits", "Le matériel et les logiciels livrés avec."),
    "support": ("Assistance et services", "Aide, garantie, réparations et retours."),
    "store": ("Boutique en ligne", "Achats, commandes, livraison et facturation."),
    "apps": ("Applications et portails", "Nos sites web, portails et applications mobiles."),
    "business": ("Entreprises et informatique", "Gestion de parc et besoins des entreprises."),
    "sustainability": ("Développement durable", "Emballages, énergie, recyclage et réparation."),
    "other": ("Autre", "Tout ce qui ne trouve pas sa place ailleurs."),
}
