/// Common French given names, family names, streets and towns for the synthetic hospital. Frequent family
/// names are on purpose: colleagues and patients who share one by chance are the look-alikes naive rules trip on.
enum SyntheticNames {
    static let femaleGiven = [
        "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Christine", "Sandrine", "Valérie", "Céline", "Julie",
        "Camille", "Emma", "Léa", "Chloé", "Manon", "Inès", "Sarah", "Laura", "Aurélie", "Émilie", "Sophie", "Claire",
        "Anne", "Monique", "Françoise", "Jeanne", "Louise", "Alice", "Lucie", "Pauline", "Nadia", "Fatima", "Amina",
    ]
    static let maleGiven = [
        "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Christophe", "Patrick", "Stéphane", "Laurent",
        "Thomas", "Julien", "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Antoine", "Maxime", "Paul", "Olivier",
        "Éric", "Frédéric", "David", "Sébastien", "Mehdi", "Karim", "Yanis", "Bernard", "Jacques", "Daniel",
    ]
    static let families = [
        "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon",
        "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont",
        "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc",
        "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin",
        "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
        "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud",
        "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche",
        "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert",
        "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey",
        "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot",
        "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis", "Deschamps", "Huet", "Vasseur",
        "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Paris", "Poirier", "Marty", "Aubry",
        "Guyot", "Carré", "Charles", "Renault", "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly",
        "Hervé", "Schneider", "Fernandez", "Le Gall", "Collet", "Léger", "Bouvier", "Julien", "Prévost", "Millet",
        "Perrot", "Daniel", "Le Roux", "Cousin", "Germain", "Breton", "Besson", "Langlois", "Rémy", "Le Goff",
        "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré", "Lebrun", "Marchal", "Weber", "Mallet", "Hamon",
        "Boulanger", "Jacob", "Monnier", "Michaud", "Rodriguez", "Guichard", "Gillet", "Étienne", "Grondin",
        "Poulain", "Tessier", "Chevallier", "Collin", "Chauvin", "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard",
        "Maréchal", "Humbert", "Reynaud", "Antoine", "Hoarau", "Perret", "Barthélemy", "Cordier", "Pichon", "Lejeune",
    ]
    static let streets = [
        "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur", "rue des Écoles",
        "rue du Moulin", "place de l'Église", "chemin des Vignes", "rue de la Gare", "allée des Tilleuls",
        "rue Pasteur", "avenue de la Libération", "rue du Général de Gaulle", "impasse des Lilas", "rue des Rosiers",
        "rue Voltaire", "boulevard Gambetta", "rue Jules Ferry", "route de Lyon", "rue Saint-Martin",
    ]
    static let cities = [
        ("Villeurbanne", "69100"), ("Lyon", "69003"), ("Lyon", "69008"), ("Vénissieux", "69200"), ("Bron", "69500"),
        ("Caluire-et-Cuire", "69300"), ("Vaulx-en-Velin", "69120"), ("Saint-Priest", "69800"), ("Écully", "69130"),
        ("Oullins", "69600"), ("Meyzieu", "69330"), ("Rillieux-la-Pape", "69140"),
    ]
}
