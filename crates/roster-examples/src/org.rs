//! Acme's organisation: departments, teams, titles, cost centres and where people sit.
//! Public so that tests and benchmarks can write rules that match real people.

/// A team inside a department.
#[derive(Debug, Clone, Copy)]
pub struct Team {
    pub name: &'static str,
    /// Share of the department's headcount (relative weight).
    pub weight: u32,
    pub cost_center: &'static str,
    /// Title of the person who runs the team (reports to the department head).
    pub manager_title: &'static str,
    /// Title of people inside the team who have reports of their own.
    pub lead_title: &'static str,
    /// Individual contributor titles with relative weights. The first is the most common.
    pub titles: &'static [(&'static str, u32)],
    /// Where the team's people sit, with relative weights.
    pub locations: &'static [(&'static str, u32)],
}

#[derive(Debug, Clone, Copy)]
pub struct Department {
    pub name: &'static str,
    /// Share of the company's headcount (relative weight); the Executive department is sized apart.
    pub weight: u32,
    pub head_title: &'static str,
    pub cost_center: &'static str,
    pub intern_title: &'static str,
    pub teams: &'static [Team],
}

pub const LOCATIONS: &[&str] = &["Paris", "Berlin", "London", "Remote"];
pub const EMPLOYMENT_TYPES: &[&str] = &["full_time", "part_time", "contractor", "intern"];

const SPREAD: &[(&str, u32)] = &[
    ("Paris", 45),
    ("Berlin", 20),
    ("London", 20),
    ("Remote", 15),
];
const EUROPE: &[(&str, u32)] = &[("Paris", 40), ("Berlin", 25), ("London", 35)];
const HQ: &[(&str, u32)] = &[("Paris", 80), ("London", 20)];

pub const EXECUTIVE: &str = "Executive";
pub const CEO_TITLE: &str = "Chief Executive Officer";

pub const DEPARTMENTS: &[Department] = &[
    Department {
        name: EXECUTIVE,
        weight: 0,
        head_title: CEO_TITLE,
        cost_center: "CC-1000",
        intern_title: "Business Operations Intern",
        teams: &[Team {
            name: "Office of the CEO",
            weight: 1,
            cost_center: "CC-1000",
            manager_title: "Chief of Staff",
            lead_title: "Chief of Staff",
            titles: &[
                ("Executive Assistant", 3),
                ("Business Operations Analyst", 2),
            ],
            locations: &[("Paris", 1)],
        }],
    },
    Department {
        name: "Engineering",
        weight: 38,
        head_title: "VP Engineering",
        cost_center: "CC-3000",
        intern_title: "Software Engineering Intern",
        teams: &[
            Team {
                name: "Platform",
                weight: 30,
                cost_center: "CC-3100",
                manager_title: "Engineering Manager",
                lead_title: "Tech Lead",
                titles: &[
                    ("Software Engineer", 5),
                    ("Senior Software Engineer", 4),
                    ("Site Reliability Engineer", 3),
                    ("Staff Engineer", 1),
                ],
                locations: SPREAD,
            },
            Team {
                name: "Mobile",
                weight: 25,
                cost_center: "CC-3200",
                manager_title: "Engineering Manager",
                lead_title: "Tech Lead",
                titles: &[
                    ("iOS Engineer", 4),
                    ("Android Engineer", 4),
                    ("Senior Software Engineer", 3),
                    ("Product Designer", 2),
                ],
                locations: SPREAD,
            },
            Team {
                name: "Data",
                weight: 25,
                cost_center: "CC-3300",
                manager_title: "Engineering Manager",
                lead_title: "Tech Lead",
                titles: &[
                    ("Data Engineer", 4),
                    ("Data Scientist", 3),
                    ("Senior Data Engineer", 2),
                    ("Analytics Engineer", 2),
                ],
                locations: SPREAD,
            },
            Team {
                name: "Security",
                weight: 20,
                cost_center: "CC-3400",
                manager_title: "Engineering Manager",
                lead_title: "Tech Lead",
                titles: &[
                    ("Security Engineer", 4),
                    ("Senior Security Engineer", 2),
                    ("Security Analyst", 2),
                ],
                locations: SPREAD,
            },
        ],
    },
    Department {
        name: "Sales",
        weight: 18,
        head_title: "VP Sales",
        cost_center: "CC-4000",
        intern_title: "Sales Intern",
        teams: &[
            Team {
                name: "EMEA",
                weight: 55,
                cost_center: "CC-4100",
                manager_title: "Sales Director",
                lead_title: "Sales Team Lead",
                titles: &[
                    ("Account Executive", 5),
                    ("Senior Account Executive", 2),
                    ("Sales Development Representative", 4),
                    ("Solutions Engineer", 2),
                ],
                locations: EUROPE,
            },
            Team {
                name: "Americas",
                weight: 45,
                cost_center: "CC-4200",
                manager_title: "Sales Director",
                lead_title: "Sales Team Lead",
                titles: &[
                    ("Account Executive", 5),
                    ("Senior Account Executive", 2),
                    ("Sales Development Representative", 4),
                    ("Solutions Engineer", 2),
                ],
                locations: &[("Remote", 1)],
            },
        ],
    },
    Department {
        name: "Marketing",
        weight: 8,
        head_title: "VP Marketing",
        cost_center: "CC-4500",
        intern_title: "Marketing Intern",
        teams: &[
            Team {
                name: "Growth",
                weight: 50,
                cost_center: "CC-4510",
                manager_title: "Head of Growth",
                lead_title: "Team Lead",
                titles: &[
                    ("Growth Marketer", 3),
                    ("Content Marketer", 2),
                    ("Marketing Analyst", 2),
                ],
                locations: SPREAD,
            },
            Team {
                name: "Brand",
                weight: 50,
                cost_center: "CC-4520",
                manager_title: "Head of Brand",
                lead_title: "Team Lead",
                titles: &[
                    ("Brand Designer", 3),
                    ("Copywriter", 2),
                    ("Events Coordinator", 1),
                ],
                locations: HQ,
            },
        ],
    },
    Department {
        name: "Finance",
        weight: 6,
        head_title: "Chief Financial Officer",
        cost_center: "CC-2000",
        intern_title: "Finance Intern",
        teams: &[
            Team {
                name: "Accounting",
                weight: 60,
                cost_center: "CC-2010",
                manager_title: "Head of Accounting",
                lead_title: "Team Lead",
                titles: &[
                    ("Accountant", 4),
                    ("Senior Accountant", 2),
                    ("Payroll Specialist", 2),
                ],
                locations: HQ,
            },
            Team {
                name: "FP&A",
                weight: 40,
                cost_center: "CC-2020",
                manager_title: "Head of FP&A",
                lead_title: "Team Lead",
                titles: &[("Financial Analyst", 3), ("Senior Financial Analyst", 1)],
                locations: HQ,
            },
        ],
    },
    Department {
        name: "People",
        weight: 5,
        head_title: "VP People",
        cost_center: "CC-2200",
        intern_title: "People Intern",
        teams: &[
            Team {
                name: "Talent",
                weight: 50,
                cost_center: "CC-2210",
                manager_title: "Head of Talent",
                lead_title: "Team Lead",
                titles: &[
                    ("Recruiter", 3),
                    ("Senior Recruiter", 1),
                    ("Talent Sourcer", 2),
                ],
                locations: SPREAD,
            },
            Team {
                name: "People Operations",
                weight: 50,
                cost_center: "CC-2220",
                manager_title: "Head of People Operations",
                lead_title: "Team Lead",
                titles: &[
                    ("HR Business Partner", 2),
                    ("People Operations Specialist", 3),
                    ("HR Coordinator", 1),
                ],
                locations: EUROPE,
            },
        ],
    },
    Department {
        name: "Support",
        weight: 18,
        head_title: "VP Support",
        cost_center: "CC-5000",
        intern_title: "Support Intern",
        teams: &[
            Team {
                name: "Customer Support",
                weight: 70,
                cost_center: "CC-5010",
                manager_title: "Head of Customer Support",
                lead_title: "Support Team Lead",
                titles: &[
                    ("Support Specialist", 5),
                    ("Senior Support Specialist", 2),
                    ("Support Engineer", 3),
                ],
                locations: SPREAD,
            },
            Team {
                name: "Support Operations",
                weight: 30,
                cost_center: "CC-5020",
                manager_title: "Head of Support Operations",
                lead_title: "Support Team Lead",
                titles: &[
                    ("Support Operations Analyst", 2),
                    ("Knowledge Base Editor", 1),
                ],
                locations: SPREAD,
            },
        ],
    },
    Department {
        name: "Legal",
        weight: 3,
        head_title: "General Counsel",
        cost_center: "CC-2100",
        intern_title: "Legal Intern",
        teams: &[
            Team {
                name: "Commercial",
                weight: 60,
                cost_center: "CC-2110",
                manager_title: "Head of Commercial Legal",
                lead_title: "Team Lead",
                titles: &[
                    ("Legal Counsel", 3),
                    ("Paralegal", 2),
                    ("Contracts Specialist", 2),
                ],
                locations: HQ,
            },
            Team {
                name: "Privacy",
                weight: 40,
                cost_center: "CC-2120",
                manager_title: "Head of Privacy",
                lead_title: "Team Lead",
                titles: &[("Privacy Counsel", 2), ("Compliance Analyst", 2)],
                locations: HQ,
            },
        ],
    },
];

/// The department called `name`.
pub fn department(name: &str) -> Option<&'static Department> {
    DEPARTMENTS.iter().find(|d| d.name == name)
}

/// The team `team` of department `dept`.
pub fn team(dept: &str, team: &str) -> Option<&'static Team> {
    department(dept)?.teams.iter().find(|t| t.name == team)
}
