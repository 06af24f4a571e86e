//! The CSV source: header mapping, BOM, quarantine with row numbers, whole-file errors, and
//! the example company's export.

use std::collections::BTreeSet;
use std::path::PathBuf;

use jiff::civil::date;
use roster_connectors::SourceConfig;
use roster_connectors::csv_source::{
    CsvError, CsvSourceConfig, MALFORMED_ROW_FIELD, load, load_from_reader, read_records,
};
use roster_core::PersonStatus;

fn custom() -> BTreeSet<String> {
    BTreeSet::from(["cost_center".to_string()])
}

fn none() -> BTreeSet<String> {
    BTreeSet::new()
}

const HEADER: &str = "employee_id,email,first_name,last_name,department,team,title,manager_id,location,employment_type,status,start_date,end_date";

#[test]
fn maps_headers_delimiter_and_date_format_from_configuration() {
    let config: SourceConfig = toml::from_str(
        r#"
kind = "csv"
path = "personal.csv"
date_format = "%d.%m.%Y"
delimiter = ";"
[columns]
employee_id = "Personalnummer"
email = "E-Mail"
department = "Abteilung"
start_date = "Eintritt"
cost_center = "Kostenstelle"
"#,
    )
    .unwrap();
    let SourceConfig::Csv(config) = config else {
        panic!("a csv source")
    };
    assert_eq!(config.path, PathBuf::from("personal.csv"));
    let text = "Personalnummer;E-Mail;first_name;last_name;Abteilung;Eintritt;Kostenstelle;Unbenutzt\n\
                P1;anna@acme.example;Anna;Schmidt;Engineering;01.10.2024;CC-3100;x\n\
                P2;ben@acme.example;Ben;Weber;Sales;15.03.2025;CC-4100;y\n";
    let read = read_records(text.as_bytes(), &config, &custom()).unwrap();
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.records[0].row, 2);
    assert_eq!(read.records[1].row, 3);
    let f = &read.records[0].fields;
    assert_eq!(f["employee_id"], "P1");
    assert_eq!(f["email"], "anna@acme.example");
    assert_eq!(f["department"], "Engineering");
    assert_eq!(f["cost_center"], "CC-3100");
    assert!(!f.contains_key("Unbenutzt") && !f.contains_key("Abteilung"));
    assert!(read.missing_columns.contains(&"manager_id".to_string()));
    assert!(read.malformed.is_empty());

    let intake = load_from_reader(text.as_bytes(), &config, &custom()).unwrap();
    assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
    assert_eq!(intake.people[0].start_date, Some(date(2024, 10, 1)));
    assert_eq!(intake.people[1].start_date, Some(date(2025, 3, 15)));
    assert_eq!(intake.people[1].custom["cost_center"], "CC-4100");
    assert_eq!(intake.people[0].status, PersonStatus::Active);
}

#[test]
fn configuration_defaults_and_unknown_keys() {
    let SourceConfig::Csv(c) = toml::from_str("kind = \"csv\"\npath = \"hr.csv\"").unwrap() else {
        panic!("a csv source")
    };
    assert_eq!(c, CsvSourceConfig::new("hr.csv"));
    assert_eq!(c.date_format, "%Y-%m-%d");
    assert_eq!(c.delimiter, ',');
    assert_eq!(c.header_for("email"), "email");
    let err =
        toml::from_str::<SourceConfig>("kind = \"csv\"\npath = \"hr.csv\"\ndate_fromat = \"%d\"")
            .unwrap_err()
            .to_string();
    assert!(err.contains("date_fromat"), "{err}");
    let err = toml::from_str::<CsvSourceConfig>("path = \"hr.csv\"\nheaders = 1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("headers"), "{err}");
}

#[test]
fn bad_configuration_is_refused() {
    let mut c = CsvSourceConfig::new("hr.csv");
    c.columns.insert("departmnt".into(), "Dept".into());
    let err = read_records(HEADER.as_bytes(), &c, &custom())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"departmnt\"") && err.contains("cost_center"),
        "{err}"
    );

    let mut c = CsvSourceConfig::new("hr.csv");
    c.date_format = "%Q".into();
    let err = read_records(HEADER.as_bytes(), &c, &none())
        .unwrap_err()
        .to_string();
    assert!(err.contains("date_format"), "{err}");

    let mut c = CsvSourceConfig::new("hr.csv");
    c.delimiter = '¦';
    assert!(matches!(
        read_records(HEADER.as_bytes(), &c, &none()),
        Err(CsvError::Config { .. })
    ));
}

#[test]
fn byte_order_mark_and_padded_headers() {
    let text =
        "\u{FEFF}employee_id ,\"email\"\t, first_name ,status\r\nE1,a@acme.example,Ann,active\r\n";
    let config = CsvSourceConfig::new("excel.csv");
    let read = read_records(text.as_bytes(), &config, &none()).unwrap();
    assert_eq!(
        read.headers,
        ["employee_id", "email", "first_name", "status"]
    );
    assert_eq!(read.records[0].fields["employee_id"], "E1");
    assert_eq!(read.records[0].fields["first_name"], "Ann");
    let intake = load_from_reader(text.as_bytes(), &config, &none()).unwrap();
    assert_eq!(intake.people.len(), 1);

    // A quoted first header after the mark.
    let text = "\u{FEFF}\"employee_id\",\"email\"\nE1,a@acme.example\n";
    let read = read_records(text.as_bytes(), &config, &none()).unwrap();
    assert_eq!(read.headers, ["employee_id", "email"]);
}

#[test]
fn bad_rows_are_quarantined_with_row_and_field_and_the_rest_loads() {
    let text = format!(
        "{HEADER}\n\
         E1,ceo@acme.example,Cleo,Ceo,Executive,,CEO,,Paris,full_time,active,2015-03-02,\n\
         E2,,Max,Mustermann,Sales,EMEA,AE,E1,Berlin,full_time,active,2020-01-06,\n\
         E3,c@acme.example,Chloé,Martin,Sales,EMEA,AE,E1,Paris,full_time,active,2026-13-01,\n\
         \n\
         E4,d@acme.example,Dan,Smith,Sales,EMEA,AE,E404,London,full_time,active,2021-01-04,\n\
         E5,e@acme.example,Eve,Jones,Sales,EMEA,AE,E1,London,full_time,active,2021-01-04,\n\
         E5,f@acme.example,Fay,Brown,Sales,EMEA,AE,E1,London,full_time,active,2021-01-04,\n\
         E6,g@acme.example,Gus,\"Smith, Jr.\",Support,,Agent,E1,Paris,full_time,on leave,2022-02-07,\n\
         E7,h@acme.example,Hal,Adams,Support,,Agent,E1,Paris,full_time,active,2022-02-07\n\
         E8,i@acme.example,Ivy,Baker,Support,,Agent,E1,Paris,full_time,retired,2022-02-07,\n\
         ,,,,,,,,,,,,\n\
         E9,j@acme.example,Jo,\"Multi\nLine\",Support,,Agent,E1,Paris,full_time,active,2022-02-07,\n\
         E10,k@acme.example,Kim,Lee,Support,,Agent,E1,Paris,full_time,active,2022-02-07,\n"
    );
    let config = CsvSourceConfig::new("hr.csv");
    let intake = load_from_reader(text.as_bytes(), &config, &none()).unwrap();
    let people: Vec<&str> = intake
        .people
        .iter()
        .map(|p| p.employee_id.as_str())
        .collect();
    assert_eq!(people, ["E1", "E6", "E9", "E10"]);
    assert_eq!(intake.people[1].last_name, "Smith, Jr.");
    assert_eq!(intake.people[1].status, PersonStatus::Leave);
    let quarantined: Vec<(usize, &str)> = intake
        .quarantined
        .iter()
        .map(|q| (q.row, q.field.as_str()))
        .collect();
    assert_eq!(
        quarantined,
        [
            (3, "email"),
            (4, "start_date"),
            (6, "manager_id"),
            (7, "employee_id"),
            (8, "employee_id"),
            (10, MALFORMED_ROW_FIELD),
            (11, "status"),
        ]
    );
    for q in &intake.quarantined {
        assert_eq!(q.source, "hr.csv");
    }
    let malformed = &intake.quarantined[5];
    assert_eq!(malformed.employee_id.as_deref(), Some("E7"));
    assert!(
        malformed.reason.contains("12 cells") && malformed.reason.contains("13"),
        "{}",
        malformed.reason
    );
    assert!(intake.quarantined[1].reason.contains("2026-13-01"));
    assert!(
        intake.quarantined_ids.contains("E7"),
        "a malformed row's person is not missing"
    );
    assert!(intake.quarantined_ids.contains("E5"));
    // Rows after a quoted line break keep counting lines of the file.
    let read = read_records(text.as_bytes(), &config, &none()).unwrap();
    let e10 = read
        .records
        .iter()
        .find(|r| r.fields["employee_id"] == "E10")
        .unwrap();
    assert_eq!(e10.row, 15);
    assert_eq!(
        quarantined
            .iter()
            .filter(|(_, f)| *f == MALFORMED_ROW_FIELD)
            .count(),
        1
    );
    assert_eq!(
        intake.quarantined[0].to_string(),
        "hr.csv row 3 (employee E2): email: email is missing"
    );

    // Windows line ends give the same line numbers.
    let crlf = text.replace('\n', "\r\n");
    let intake = load_from_reader(crlf.as_bytes(), &config, &none()).unwrap();
    let rows: Vec<(usize, &str)> = intake
        .quarantined
        .iter()
        .map(|q| (q.row, q.field.as_str()))
        .collect();
    assert_eq!(rows, quarantined);
    assert_eq!(intake.people.len(), 4);
}

#[test]
fn missing_required_header_is_a_whole_file_error() {
    let text = "Employee Number,email,first_name\nE1,a@acme.example,Ann\n";
    let err = read_records(
        text.as_bytes(),
        &CsvSourceConfig::new("exports/hr.csv"),
        &none(),
    )
    .unwrap_err();
    assert!(matches!(err, CsvError::MissingHeader { .. }));
    assert_eq!(
        err.to_string(),
        "exports/hr.csv: line 1: no column \"employee_id\" (needed for employee_id); the header has: Employee Number, email, first_name"
    );

    // An explicitly mapped column must exist too; an unmapped optional one may be absent.
    let mut config = CsvSourceConfig::new("hr.csv");
    config
        .columns
        .insert("employee_id".into(), "Employee Number".into());
    config.columns.insert("department".into(), "Dept".into());
    let err = read_records(text.as_bytes(), &config, &none())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"Dept\" (needed for department)"), "{err}");
    config.columns.remove("department");
    let read = read_records(text.as_bytes(), &config, &none()).unwrap();
    assert_eq!(read.records[0].fields["employee_id"], "E1");

    let err = read_records("".as_bytes(), &config, &none())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "hr.csv: the file is empty; expected a header line");

    let text = "employee_id,email,email\nE1,a@acme.example,b@acme.example\n";
    let err = read_records(text.as_bytes(), &CsvSourceConfig::new("hr.csv"), &none())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"email\" appears 2 times"), "{err}");

    let err = load(&CsvSourceConfig::new("/nonexistent/hr.csv"), &none())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/hr.csv: cannot read the file"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let mut bytes =
        b"employee_id,email,last_name\nE1,a@acme.example,Ok\nE2,b@acme.example,M".to_vec();
    bytes.extend_from_slice(&[0xFC, b'l', b'l', b'e', b'r', b'\n']); // Latin-1 "Müller"
    let err = read_records(
        bytes.as_slice(),
        &CsvSourceConfig::new("latin1.csv"),
        &none(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "latin1.csv: line 3 is not valid UTF-8; export the file as UTF-8"
    );
}

fn acme_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

#[test]
fn acme_export_quarantines_exactly_the_expected_rows() {
    let dir = acme_dir();
    let expected = roster_examples::Expected::parse(
        &std::fs::read_to_string(dir.join("expected.toml")).unwrap(),
    )
    .unwrap();
    let intake = load(&CsvSourceConfig::new(dir.join("hr.csv")), &custom()).unwrap();
    let got: Vec<(usize, String, String)> = intake
        .quarantined
        .iter()
        .map(|q| {
            (
                q.row,
                q.employee_id.clone().unwrap_or_default(),
                q.field.clone(),
            )
        })
        .collect();
    let want: Vec<(usize, String, String)> = expected
        .quarantined
        .iter()
        .map(|q| (q.row, q.employee_id.clone(), q.field.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(intake.people.len(), expected.size);
    assert!(
        intake
            .people
            .iter()
            .all(|p| p.custom.contains_key("cost_center"))
    );

    let previous = load(
        &CsvSourceConfig::new(dir.join("hr-previous.csv")),
        &custom(),
    )
    .unwrap();
    assert!(previous.quarantined.is_empty());
    for id in &expected.joiners {
        assert!(intake.people.iter().any(|p| &p.employee_id == id), "{id}");
    }

    // What the generator wrote is what the CSV source reads.
    let company = roster_examples::acme(expected.seed, expected.size);
    assert_eq!(intake.people, company.people);
    assert_eq!(previous.people, company.previous_people);
}
