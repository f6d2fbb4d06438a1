/// The plan a new case starts with, per incident type: tasks written by the project for French hospitals (in
/// French and English), grouped by phase. Teams add, skip or reassign tasks per case.
public enum CaseTemplates {
    public struct Step: Sendable, Hashable {
        public var phase: String
        public var fr: String
        public var en: String
    }

    static func step(_ phase: String, _ fr: String, _ en: String) -> Step { Step(phase: phase, fr: fr, en: en) }

    static let declare = step(
        "declare",
        "Qualifier l'incident et lancer les déclarations (CERT Santé, CNIL, ANSSI) depuis l'onglet Déclarations",
        "Qualify the incident and start the declarations (CERT Santé, CNIL, ANSSI) from the Declarations tab")
    static let learn = step(
        "learn", "Retour d'expérience : causes, ce qui a marché, actions (elles peuvent alimenter la conformité)",
        "Lessons learned: causes, what worked, actions (they can feed compliance)")

    public static func steps(for type: IncidentType) -> [Step] {
        switch type {
        case .ransomware:
            return [
                step(
                    "contain", "Isoler du réseau les postes et serveurs touchés (débrancher, ne pas éteindre)",
                    "Isolate affected workstations and servers from the network (unplug, do not power off)"),
                step(
                    "contain", "Activer la cellule de crise et les procédures de soins en mode dégradé",
                    "Activate the crisis unit and the degraded-mode care procedures"),
                step(
                    "contain", "Préserver les preuves : note de rançon, journaux, mémoire des machines clés",
                    "Preserve evidence: ransom note, logs, memory of key machines"),
                declare,
                step("declare", "Déposer plainte et prévenir l'assureur", "File a complaint and notify the insurer"),
                step(
                    "eradicate", "Identifier le vecteur d'entrée et le premier poste compromis",
                    "Identify the entry vector and the first compromised machine"),
                step(
                    "eradicate", "Réinitialiser les comptes à privilèges et deux fois le compte krbtgt",
                    "Reset privileged accounts and the krbtgt account twice"),
                step(
                    "recover", "Vérifier l'intégrité des sauvegardes hors ligne avant toute restauration",
                    "Check the offline backups' integrity before any restore"),
                step(
                    "recover", "Restaurer par ordre de criticité : DPI, PACS, laboratoire, pharmacie",
                    "Restore by criticality: EHR, PACS, laboratory, pharmacy"),
                step(
                    "recover", "Surveiller la réapparition des indicateurs pendant trente jours",
                    "Watch for the indicators to reappear for thirty days"),
                learn,
            ]
        case .compromisedAccount:
            return [
                step(
                    "contain", "Réinitialiser le mot de passe et révoquer toutes les sessions du compte",
                    "Reset the password and revoke every session of the account"),
                step(
                    "contain", "Vérifier ou activer la double authentification",
                    "Check or enable multi-factor authentication"),
                step(
                    "eradicate", "Rechercher et supprimer règles de transfert, délégations et applications ajoutées",
                    "Find and remove added forwarding rules, delegations and applications"),
                step(
                    "eradicate", "Retirer le message d'hameçonnage de toutes les boîtes et bloquer l'expéditeur",
                    "Remove the phishing message from every mailbox and block the sender"),
                step(
                    "eradicate", "Examiner les connexions (pays, horaires) et les accès au DPI depuis le compte",
                    "Review the sign-ins (countries, hours) and the EHR accesses from the account"),
                declare,
                step(
                    "recover", "Informer la personne et lui proposer la formation hameçonnage",
                    "Inform the person and offer them the phishing training"),
                learn,
            ]
        case .phishing:
            return [
                step(
                    "contain", "Bloquer l'expéditeur, les domaines et les liens sur la passerelle et le proxy",
                    "Block the sender, domains and links on the mail gateway and the proxy"),
                step(
                    "contain", "Retirer le message des boîtes de réception",
                    "Remove the message from the mailboxes"),
                step(
                    "eradicate", "Identifier qui a cliqué ou saisi un mot de passe (proxy, signalements)",
                    "Find who clicked or typed a password (proxy, reports)"),
                declare,
                step(
                    "recover", "Partager les indicateurs avec le CERT Santé et le GHT",
                    "Share the indicators with CERT Santé and the GHT"),
                step(
                    "recover", "Prévenir le personnel (message court, exemple du courriel)",
                    "Warn staff (a short message with the e-mail as example)"),
                learn,
            ]
        case .dataLeak:
            return [
                step(
                    "contain", "Arrêter la fuite (accès, partage, envoi) et préserver les traces",
                    "Stop the leak (access, share, sending) and preserve the traces"),
                step(
                    "contain", "Qualifier les données, les catégories et le nombre de personnes concernées",
                    "Qualify the data, the categories and the number of persons concerned"),
                step(
                    "declare", "Évaluer le risque pour les personnes avec le DPO",
                    "Assess the risk to the persons with the DPO"),
                declare,
                step(
                    "declare", "Informer les personnes si le risque est élevé (RGPD art. 34)",
                    "Inform the persons if the risk is high (GDPR art. 34)"),
                step(
                    "recover", "Inscrire la violation au registre interne", "Record the breach in the internal register"
                ),
                learn,
            ]
        case .lostDevice:
            return [
                step(
                    "contain", "Identifier l'appareil, son propriétaire et les données qu'il contient",
                    "Identify the device, its owner and the data it holds"),
                step(
                    "contain", "Vérifier le chiffrement et effacer à distance si possible",
                    "Check the encryption and wipe remotely if possible"),
                step(
                    "contain", "Révoquer sessions, certificats, badge et accès VPN",
                    "Revoke sessions, certificates, badge and VPN access"),
                step("declare", "Déposer plainte en cas de vol", "File a complaint if stolen"),
                declare,
                learn,
            ]
        case .ehrAccess:
            return [
                step(
                    "contain", "Figer les preuves : journaux d'accès au dossier et contexte de soins",
                    "Freeze the evidence: record access logs and care context"),
                step(
                    "eradicate", "Entretien de l'agent avec le DPO et son encadrement",
                    "Interview of the employee with the DPO and their manager"),
                declare,
                step(
                    "declare", "Informer le patient si le risque est élevé", "Inform the patient if the risk is high"),
                step(
                    "recover", "Revoir les habilitations de l'agent et du service",
                    "Review the employee's and the unit's access rights"),
                learn,
            ]
        case .other:
            return [
                step("contain", "Qualifier l'incident et contenir", "Qualify the incident and contain it"),
                declare,
                step("eradicate", "Éradiquer la cause", "Remove the cause"),
                step("recover", "Rétablir le service", "Restore the service"),
                learn,
            ]
        }
    }
}
