"""The demo group's catalogue: believable French producers and products."""

from decimal import Decimal as D

# (name, trade, city, catalogue, [(product, unit, qty per unit, price cents, vat, weighed, stock)])
PRODUCERS = [
    (
        "Ferme des Quatre Saisons", "Maraîcher", "Montreuil", "Légumes de saison",
        [
            ("Carottes", "kg", D(1), 260, D("5.5"), True, None),
            ("Pommes de terre", "kg", D(1), 220, D("5.5"), True, None),
            ("Poireaux", "bunch", D(1), 300, D("5.5"), False, None),
            ("Salade batavia", "piece", D(1), 150, D("5.5"), False, D(40)),
            ("Courge butternut", "kg", D(1), 320, D("5.5"), True, None),
            ("Oignons jaunes", "kg", D(1), 280, D("5.5"), True, None),
            ("Radis roses", "bunch", D(1), 180, D("5.5"), False, D(30)),
            ("Épinards", "kg", D(1), 750, D("5.5"), True, D(15)),
            ("Betteraves cuites", "kg", D(1), 450, D("5.5"), True, None),
            ("Chou kale", "bunch", D(1), 350, D("5.5"), False, None),
            ("Panier de légumes", "piece", D(1), 1500, D("5.5"), False, D(25)),
            ("Œufs plein air", "box", D(6), 320, D("5.5"), False, D(60)),
        ],
    ),
    (
        "Fromagerie du Vexin", "Fromager", "Magny-en-Vexin", "Fromages et laitages",
        [
            ("Tomme de vache", "kg", D(1), 2200, D("5.5"), True, None),
            ("Fromage blanc", "jar", D("0.5"), 380, D("5.5"), False, None),
            ("Crottin de chèvre", "piece", D(1), 290, D("5.5"), False, D(50)),
            ("Yaourts nature", "box", D(4), 340, D("5.5"), False, None),
            ("Lait cru entier", "litre", D(1), 160, D("5.5"), False, None),
            ("Beurre demi-sel", "piece", D("0.25"), 450, D("5.5"), False, None),
            ("Crème fraîche", "jar", D("0.25"), 390, D("5.5"), False, None),
            ("Brie de Meaux", "kg", D(1), 2600, D("5.5"), True, D(8)),
            ("Faisselle", "piece", D(1), 250, D("5.5"), False, None),
            ("Cidre fermier", "litre", D(1), 550, D(20), False, None),
        ],
    ),
    (
        "Fournil de la Butte", "Boulanger", "Bagnolet", "Pains au levain",
        [
            ("Pain de campagne", "piece", D(1), 450, D("5.5"), False, None),
            ("Pain complet", "piece", D(1), 480, D("5.5"), False, None),
            ("Pain aux graines", "piece", D(1), 520, D("5.5"), False, None),
            ("Baguette tradition", "piece", D(1), 130, D("5.5"), False, None),
            ("Brioche", "piece", D(1), 750, D("5.5"), False, D(20)),
            ("Pain de seigle", "piece", D(1), 500, D("5.5"), False, None),
            ("Farine T80", "kg", D(1), 280, D("5.5"), False, None),
            ("Biscuits sablés", "box", D(1), 600, D("5.5"), False, None),
            ("Bière blonde", "litre", D("0.75"), 650, D(20), False, D(48)),
        ],
    ),
    (
        "Élevage des Prés", "Éleveur", "Senlis", "Viandes et volailles",
        [
            ("Poulet fermier", "kg", D(1), 1290, D("5.5"), True, D(30)),
            ("Steak haché", "box", D("0.5"), 950, D("5.5"), False, None),
            ("Côtes de porc", "kg", D(1), 1650, D("5.5"), True, None),
            ("Saucisses de Toulouse", "kg", D(1), 1490, D("5.5"), True, None),
            ("Rôti de bœuf", "kg", D(1), 3200, D("5.5"), True, D(10)),
            ("Terrine de campagne", "jar", D("0.2"), 680, D("5.5"), False, None),
            ("Merguez", "kg", D(1), 1590, D("5.5"), True, None),
            ("Colis de veau", "piece", D(5), 9500, D("5.5"), False, D(6)),
            ("Jus de pomme", "litre", D(1), 350, D("5.5"), False, None),
        ],
    ),
]

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Louise", "Jeanne",
    "Claire", "Anne", "Sophie", "Nathalie", "Élise", "Margaux", "Pauline", "Agathe", "Zoé", "Lucie",
    "Thomas", "Lucas", "Hugo", "Louis", "Jules", "Nicolas", "Antoine", "Julien", "Mathieu", "Pierre",
    "Olivier", "Benoît", "Étienne", "François", "Yann", "Karim", "Mehdi", "Rémi", "Paul", "Théo",
]

LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller",
    "Henry", "Roussel", "Nicolas", "Perrin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez",
    "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis",
    "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Benali",
]
