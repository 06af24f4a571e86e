//! Given and family names from the countries Acme hires in, and how e-mail addresses are
//! made from them.

pub(crate) const FIRST_NAMES: &[&str] = &[
    // French
    "Léa",
    "Chloé",
    "Camille",
    "Manon",
    "Inès",
    "Zoé",
    "Louise",
    "Juliette",
    "Hélène",
    "Margaux",
    "Anne-Sophie",
    "Marie-Claire",
    "Lucas",
    "Hugo",
    "Louis",
    "Théo",
    "Nathan",
    "Jules",
    "Mathis",
    "Jérôme",
    "François",
    "Baptiste",
    "Jean-Luc",
    "Rémi",
    "Océane",
    "Élodie",
    // German
    "Lukas",
    "Jonas",
    "Leon",
    "Felix",
    "Maximilian",
    "Jürgen",
    "Stefan",
    "Tobias",
    "Sebastian",
    "Anna",
    "Lena",
    "Hannah",
    "Lea",
    "Katharina",
    "Sophie",
    "Johanna",
    "Mia",
    "Annika",
    "Björn",
    // British and Irish
    "Oliver",
    "Harry",
    "George",
    "Jack",
    "Charlie",
    "Thomas",
    "James",
    "William",
    "Emily",
    "Olivia",
    "Amelia",
    "Isla",
    "Grace",
    "Charlotte",
    "Siobhán",
    "Niamh",
    "Aoife",
    "Ciarán",
    "Eoin",
    // Spanish, Italian, Portuguese
    "Lucía",
    "Sofía",
    "Martina",
    "Pablo",
    "Álvaro",
    "Javier",
    "Giulia",
    "Francesca",
    "Matteo",
    "Lorenzo",
    "Alessandro",
    "João",
    "Inês",
    "Tiago",
    // Nordic, Dutch, Polish
    "Søren",
    "Astrid",
    "Freja",
    "Lars",
    "Sanne",
    "Daan",
    "Sem",
    "Zuzanna",
    "Katarzyna",
    "Piotr",
    "Jakub",
    "Agnieszka",
    // Further afield
    "Priya",
    "Ananya",
    "Arjun",
    "Rohan",
    "Aisha",
    "Omar",
    "Yusuf",
    "Fatima",
    "Mei",
    "Wei",
    "Hiroshi",
    "Yuki",
    "Kwame",
    "Amara",
    "Chinedu",
    "Ngozi",
    "Mateo",
    "Valentina",
    "Diego",
    "Camila",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    // French
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Le Gall",
    "Chevalier",
    "Mercier",
    "Faure",
    // German
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Weiß",
    "Zimmermann",
    // British and Irish
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "Hughes",
    "O'Brien",
    "O'Connor",
    "Murphy",
    "Kelly",
    "Smith-Jones",
    // Spanish, Italian, Portuguese
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Núñez",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Silva",
    "Santos",
    "Oliveira",
    // Nordic, Dutch, Polish
    "Jensen",
    "Nielsen",
    "Hansen",
    "Andersson",
    "Johansson",
    "de Vries",
    "van der Berg",
    "Bakker",
    "Jansen",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    // Further afield
    "Sharma",
    "Patel",
    "Iyer",
    "Khan",
    "Haddad",
    "Nakamura",
    "Tanaka",
    "Chen",
    "Wang",
    "Li",
    "Mensah",
    "Okafor",
    "Adeyemi",
    "Hernández",
    "Morales",
];

/// The part of an e-mail address a name gives: `first.last`, lower case ASCII, accents
/// dropped, apostrophes and spaces removed, hyphens kept (`jean-luc.obrien`).
pub(crate) fn email_local(first: &str, last: &str) -> String {
    format!("{}.{}", ascii_part(first), ascii_part(last))
}

fn ascii_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped: &str = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => "a",
            'æ' => "ae",
            'ç' | 'Ç' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'É' | 'È' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ö' | 'Ø' => "o",
            'ù' | 'ú' | 'û' | 'ü' | 'Ü' | 'Ú' => "u",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            'ś' | 'Ś' => "s",
            'ć' => "c",
            'ł' | 'Ł' => "l",
            'ń' => "n",
            'ź' | 'ż' => "z",
            'ą' => "a",
            'ę' => "e",
            '\'' | ' ' | '’' => "",
            '-' => "-",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_plain_ascii() {
        assert_eq!(email_local("Jean-Luc", "O'Brien"), "jean-luc.obrien");
        assert_eq!(email_local("Søren", "Weiß"), "soren.weiss");
        assert_eq!(email_local("Álvaro", "van der Berg"), "alvaro.vanderberg");
        for f in FIRST_NAMES {
            for l in LAST_NAMES {
                let e = email_local(f, l);
                assert!(
                    e.bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-'),
                    "{f} {l} → {e}"
                );
                assert!(e.len() > 3);
            }
        }
    }
}
