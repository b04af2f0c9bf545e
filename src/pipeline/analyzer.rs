//! Keyword analysis of a query: platforms, intent, entities, knowledge needs, characteristics.
//!
//! Evidence comes in two strengths. *Hard* evidence names a platform outright: a product or
//! language name (`Splunk`, `Azure AD`, `database`), query syntax (`index=`), a table or index from
//! the caller's `schema_hints`, a well-known table of the platform (`SigninLogs`), or a distinctive
//! word of an offered agent's name for a platform we have no vocabulary for. *Soft* evidence is
//! the platform's subject vocabulary (firewalls and routers lean Splunk, invoices and customers
//! lean SQL). Hard evidence decides on its own and may select several platforms, offered or not
//! (an unoffered one becomes a warning later). Without hard evidence the soft scores choose among
//! the offered platforms. Only a query with no evidence at all falls back to a default.
//!
//! The result also keeps the evidence itself ([`KeywordAnalysis`]) so a model's answer can be
//! fused with it without overruling what the text states plainly.

use std::collections::BTreeMap;

use super::text::{Text, is_identifier_like, word_matches};
use crate::domain::{
    AnalysisSource, Complexity, Entities, Intent, KnowledgeRequirements, PlanningContext, Platform,
    QueryAnalysis, QueryCharacteristics,
};

/// How firmly the text points at something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    None,
    Soft,
    Hard,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvidence {
    pub platform: Platform,
    pub strength: Strength,
    pub soft_score: f64,
    /// Words of the query that pointed here, for the reasoning.
    pub cues: Vec<String>,
    pub offered: bool,
}

/// What the text says about errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEvidence {
    /// Error vocabulary: errors, exceptions, crashes, deadlocks, a failure that is not a login's.
    Hard,
    /// Only failures of logins, sign-ins, sudo and the like: security events, not error patterns.
    AuthFailureOnly,
    /// Vague trouble words (`issue`, `slow`, `not working`): a model may decide.
    Weak,
    None,
}

/// The keyword analysis together with the evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordAnalysis {
    pub analysis: QueryAnalysis,
    /// Every platform with any evidence, and every offered one, strongest first.
    pub platforms: Vec<PlatformEvidence>,
    pub error: ErrorEvidence,
    /// Intent scores, highest first.
    pub intent_scores: Vec<(Intent, f64)>,
}

impl KeywordAnalysis {
    pub fn hard_platforms(&self) -> impl Iterator<Item = &Platform> {
        self.platforms
            .iter()
            .filter(|e| e.strength == Strength::Hard)
            .map(|e| &e.platform)
    }

    pub fn evidence_for(&self, platform: &Platform) -> Option<&PlatformEvidence> {
        self.platforms.iter().find(|e| &e.platform == platform)
    }

    /// Whether the text says almost nothing about the intent (the best score is below one
    /// ordinary cue).
    pub fn intent_is_vague(&self) -> bool {
        self.intent_scores
            .first()
            .is_none_or(|(_, best)| *best < 1.0)
    }
}

/// Soft evidence at which the text *describes* a platform rather than touching it with one
/// stray word; only then may it join platforms named outright.
pub const DESCRIBED: f64 = 1.5;

/// A soft score at least this fraction of the best one is a comparable candidate.
pub const COMPARABLE: f64 = 0.5;

/// Options of the analysis that come from configuration.
#[derive(Debug, Clone)]
pub struct AnalyzerOptions {
    /// Platforms to fall back on, in order, when a query carries no platform evidence at all.
    pub default_platforms: Vec<Platform>,
}

impl Default for AnalyzerOptions {
    fn default() -> Self {
        AnalyzerOptions {
            default_platforms: vec![Platform::Kql],
        }
    }
}

struct Vocabulary {
    hard: &'static [&'static str],
    soft: &'static [(&'static str, f64)],
    tables: &'static [&'static str],
}

const KQL: Vocabulary = Vocabulary {
    hard: &[
        "kql",
        "kusto",
        "azure",
        "entra",
        "aad",
        "sentinel",
        "log analytics",
        "loganalytics",
        "application insights",
        "app insights",
        "appinsights",
        "defender",
        "intune",
        "microsoft 365",
        "office 365",
        "m365",
        "o365",
    ],
    soft: &[
        ("signin", 1.5),
        ("sign in", 1.5),
        ("login", 0.5),
        ("logon", 0.5),
        ("mfa", 1.0),
        ("conditional access", 1.5),
        ("risky", 1.0),
        ("tenant", 1.0),
        ("subscription", 0.5),
        ("resource group", 1.5),
        ("storage account", 1.5),
        ("key vault", 1.5),
        ("virtual machine", 0.5),
        ("vm", 0.5),
        ("app service", 1.5),
        ("function app", 1.5),
        ("aks", 1.5),
        ("telemetry", 1.0),
        ("page view", 1.0),
        ("dependency", 0.5),
        ("exception", 0.5),
        ("trace", 0.5),
        ("request", 0.5),
        ("service principal", 1.5),
        ("managed identity", 1.5),
        ("guest user", 1.0),
        ("microservice", 0.5),
        ("cloud", 0.5),
        ("incident", 0.5),
        ("severity", 0.5),
        ("microsoft", 0.5),
        ("workspace", 1.0),
        ("sharepoint", 1.0),
        ("exchange online", 1.0),
        ("teams", 0.5),
        ("onedrive", 1.0),
        ("role assignment", 1.0),
        ("api", 1.0),
        ("http", 1.0),
        ("status code", 1.0),
        ("500", 1.0),
        ("502", 1.0),
        ("503", 1.0),
        ("504", 1.0),
        ("5xx", 1.0),
        ("deploy*", 1.0),
        ("response time", 1.0),
        ("web app", 1.0),
        ("latency", 0.5),
        ("availability", 0.5),
    ],
    tables: &[
        "SigninLogs",
        "AuditLogs",
        "AzureActivity",
        "AzureDiagnostics",
        "AzureMetrics",
        "SecurityEvent",
        "SecurityAlert",
        "SecurityIncident",
        "AppRequests",
        "AppExceptions",
        "AppTraces",
        "AppDependencies",
        "AppPageViews",
        "AppAvailabilityResults",
        "AppMetrics",
        "Heartbeat",
        "Perf",
        "ContainerLog",
        "ContainerLogV2",
        "KubePodInventory",
        "KubeEvents",
        "KubeNodeInventory",
        "InsightsMetrics",
        "AADNonInteractiveUserSignInLogs",
        "AADServicePrincipalSignInLogs",
        "AADManagedIdentitySignInLogs",
        "OfficeActivity",
        "DeviceEvents",
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "DeviceLogonEvents",
        "DeviceFileEvents",
        "IdentityLogonEvents",
        "EmailEvents",
        "CommonSecurityLog",
        "ThreatIntelligenceIndicator",
        "W3CIISLog",
        "StorageBlobLogs",
        "BehaviorAnalytics",
        "IdentityInfo",
        "UpdateSummary",
        "AzureNetworkAnalytics_CL",
    ],
};

const SPL: Vocabulary = Vocabulary {
    hard: &["splunk", "spl", "sourcetype", "tstats", "splunkd"],
    soft: &[
        ("firewall", 1.5),
        ("router", 1.5),
        ("switch", 0.5),
        ("bgp", 1.5),
        ("ospf", 1.5),
        ("vpn", 1.5),
        ("proxy", 1.0),
        ("dns", 1.0),
        ("dhcp", 1.0),
        ("netflow", 1.5),
        ("ids", 1.0),
        ("palo alto", 1.5),
        ("cisco", 1.5),
        ("fortinet", 1.5),
        ("fortigate", 1.5),
        ("f5", 1.0),
        ("apache", 1.5),
        ("nginx", 1.5),
        ("web server", 1.0),
        ("web tier", 1.5),
        ("access log", 1.5),
        ("syslog", 1.5),
        ("sudo", 2.0),
        ("ssh", 1.5),
        ("linux", 1.5),
        ("unix", 1.0),
        ("host", 1.0),
        ("server", 0.5),
        ("build server", 1.0),
        ("infrastructure", 1.0),
        ("disk usage", 1.5),
        ("disk space", 1.5),
        ("cpu", 0.5),
        ("memory usage", 0.5),
        ("uptime", 0.5),
        ("edr", 1.0),
        ("crowdstrike", 1.5),
        ("okta", 1.5),
        ("forwarder", 1.5),
        ("windows event", 1.0),
        ("eventcode", 1.5),
        ("event code", 1.5),
        ("malware", 0.5),
        ("ransomware", 0.5),
        ("outbound", 1.5),
        ("inbound", 1.0),
        ("ip", 0.5),
        ("port scan", 1.5),
        ("blocked", 0.5),
        ("block", 0.5),
        ("log", 0.3),
        ("load balancer", 1.0),
        ("network", 1.0),
        ("packet", 1.0),
        ("endpoint", 0.5),
        ("session", 0.5),
        ("datacenter", 1.0),
        ("on prem", 1.0),
        ("on premises", 1.0),
        ("ids alert", 1.0),
        ("mainframe", 1.0),
    ],
    tables: &[
        "access_combined",
        "wineventlog",
        "linux_secure",
        "pan_traffic",
        "cisco_asa",
    ],
};

const SQL: Vocabulary = Vocabulary {
    hard: &[
        "sql",
        "database",
        "db",
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "mssql",
        "sql server",
        "sqlite",
        "oracle",
        "data warehouse",
        "stored procedure",
        "tsql",
        "plsql",
        "rdbms",
        "relational",
        "dbo",
        "snowflake",
        "bigquery",
        "redshift",
    ],
    soft: &[
        ("customer", 1.5),
        ("order", 1.0),
        ("invoice", 2.0),
        ("revenue", 2.0),
        ("sales", 1.5),
        ("product", 1.0),
        ("category", 0.5),
        ("supplier", 2.0),
        ("vendor", 1.0),
        ("purchas*", 1.5),
        ("inventory", 1.5),
        ("stock", 0.5),
        ("employee", 1.5),
        ("payroll", 2.0),
        ("record", 1.0),
        ("row", 1.0),
        ("regist*", 1.0),
        ("signup", 1.0),
        ("quarter", 1.0),
        ("quarterly", 1.0),
        ("fiscal", 1.5),
        ("total", 0.5),
        ("transaction", 1.0),
        ("payment", 0.5),
        ("price", 1.0),
        ("pricing", 1.0),
        ("shipment", 1.5),
        ("shipping", 1.5),
        ("deliver*", 1.0),
        ("etl", 1.5),
        ("deadlock", 1.5),
        ("foreign key", 2.0),
        ("primary key", 2.0),
        ("column", 1.5),
        ("crm", 1.0),
        ("erp", 1.0),
        ("balance", 1.0),
        ("refund", 1.0),
        ("billing", 0.5),
        ("account", 0.5),
        ("profile", 0.5),
        ("overdue", 1.5),
        ("warehouse", 1.0),
        ("contract", 1.0),
        ("subscriber", 1.0),
        ("churn", 1.5),
        ("cohort", 1.0),
        ("department", 1.0),
        ("salary", 2.0),
        ("enrol*", 1.0),
        ("patient", 1.5),
        ("booking", 1.0),
        ("reservation", 1.0),
        ("loan", 1.0),
        ("ledger", 1.5),
    ],
    tables: &[],
};

/// Words after `azure` that make it a database, not Azure Monitor data.
const AZURE_DATABASES: &[&str] = &[
    "sql",
    "database",
    "postgres*",
    "mysql",
    "cosmos*",
    "synapse",
];

/// Words near `index` that make it a database index rather than a Splunk one.
const DB_INDEX_WORDS: &[&str] = &[
    "missing",
    "clustered",
    "nonclustered",
    "unique",
    "rebuild",
    "create",
    "fragment*",
    "primary",
    "seek",
    "scan",
    "covering",
];

/// Words that are never a table or index name of their own.
const NAME_STOPWORDS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "in", "on", "of", "for", "from", "to",
    "by", "with", "which", "what", "our", "my", "your", "their", "his", "her", "its", "splunk",
    "default", "each", "every", "any", "all", "same", "new", "sql", "database", "kql", "and", "or",
    "is", "are", "was", "per", "into",
];

/// Words of an agent's name that say nothing about its platform.
const AGENT_NAME_STOPWORDS: &[&str] = &[
    "data",
    "agent",
    "agents",
    "query",
    "queries",
    "the",
    "for",
    "and",
    "of",
    "service",
    "platform",
    "log",
    "logs",
    "search",
    "system",
    "events",
    "event",
    "source",
    "engine",
    "api",
    "server",
    "tool",
    "connector",
    "generic",
    "knowledge",
    "retrieval",
    "generator",
    "v1",
    "v2",
];

/// Subjects whose failure is a security event, not an error pattern.
const AUTH_WORDS: &[&str] = &[
    "login",
    "logon",
    "signin",
    "sign",
    "sudo",
    "auth*",
    "password*",
    "mfa",
    "ssh",
    "credential*",
    "access",
    "attempt*",
    "vpn",
    "brute",
    "kerberos",
    "ldap",
    "2fa",
    "otp",
];

const ERROR_HARD: &[&str] = &[
    "error*",
    "exception*",
    "crash*",
    "deadlock*",
    "stack trace",
    "stacktrace",
    "traceback",
    "timeout*",
    "timed out",
    "fault*",
    "panic*",
    "5xx",
    "4xx",
    "bug",
    "bugs",
    "outage*",
    "segfault",
    "oom",
    "out of memory",
    "throttl*",
    "unhandled",
    "errno",
    "rollback*",
];

const ERROR_WEAK: &[&str] = &[
    "issue",
    "problem",
    "not working",
    "slow",
    "down",
    "broken",
    "degrad*",
    "unhealthy",
    "went wrong",
    "misbehav*",
    "stuck",
    "hang*",
    "retry",
    "retries",
];

const INTENT_VOCAB: &[(Intent, &[(&str, f64)])] = &[
    (
        Intent::Security,
        &[
            ("security", 2.0),
            ("threat*", 2.0),
            ("malware", 2.0),
            ("ransomware", 2.0),
            ("attack*", 2.0),
            ("breach*", 2.0),
            ("suspicious", 2.0),
            ("unauthori*", 2.0),
            ("brute force", 2.0),
            ("sudo", 1.5),
            ("privilege*", 1.5),
            ("firewall", 1.0),
            ("block*", 1.0),
            ("bad ip", 1.5),
            ("malicious", 2.0),
            ("phishing", 2.0),
            ("sentinel", 1.5),
            ("incident", 0.5),
            ("vulnerab*", 2.0),
            ("compromis*", 2.0),
            ("mfa", 1.0),
            ("risky", 2.0),
            ("new countr*", 1.5),
            ("impossible travel", 2.0),
            ("audit", 1.0),
            ("delete", 1.0),
            ("deletion", 1.0),
            ("permission", 1.0),
            ("intrusion", 2.0),
            ("exfiltrat*", 2.0),
            ("ioc", 2.0),
            ("threat intel*", 2.0),
            ("outbound", 0.5),
            ("edr", 1.0),
            ("antivirus", 2.0),
            ("role assignment", 1.5),
            ("signin", 1.0),
            ("sign in", 1.0),
            ("login", 1.0),
            ("logon", 1.0),
            ("vpn", 0.5),
            ("severity", 1.0),
            ("lockout", 2.0),
            ("locked out", 2.0),
            ("spoof*", 2.0),
            ("denied", 1.0),
            ("anomal*", 1.0),
            ("admin", 0.5),
            ("c2", 2.0),
            ("beacon*", 1.5),
        ],
    ),
    (
        Intent::Diagnostic,
        &[
            ("error*", 2.0),
            ("exception*", 2.0),
            ("crash*", 2.0),
            ("why", 1.5),
            ("root cause", 2.0),
            ("troubleshoot*", 2.0),
            ("debug*", 2.0),
            ("deadlock*", 2.0),
            ("timeout*", 1.5),
            ("timed out", 1.5),
            ("broken", 1.5),
            ("not working", 2.0),
            ("issue", 0.5),
            ("problem", 1.0),
            ("5xx", 2.0),
            ("bug", 2.0),
            ("outage*", 1.5),
            ("degrad*", 1.0),
            ("slow", 1.0),
            ("stack trace", 2.0),
            ("stacktrace", 2.0),
            ("diagnos*", 2.0),
            ("fault*", 1.5),
            ("unhealthy", 1.0),
        ],
    ),
    (
        Intent::Monitoring,
        &[
            ("latency", 2.0),
            ("p95", 1.5),
            ("p99", 1.5),
            ("p50", 1.5),
            ("percentile", 1.5),
            ("cpu", 1.5),
            ("memory", 1.0),
            ("disk usage", 2.0),
            ("disk", 1.0),
            ("uptime", 2.0),
            ("availability", 1.5),
            ("health", 1.5),
            ("performance", 1.5),
            ("throughput", 1.5),
            ("alert*", 1.5),
            ("monitor*", 2.0),
            ("over time", 1.0),
            ("plot", 1.0),
            ("graph", 1.0),
            ("chart", 1.0),
            ("dashboard", 1.5),
            ("metric*", 1.5),
            ("usage", 1.0),
            ("reset*", 1.0),
            ("reported", 0.5),
            ("heartbeat", 1.5),
            ("capacity", 1.5),
            ("status", 1.0),
            ("event", 0.5),
            ("sourcetype", 0.5),
            ("rate", 0.5),
            ("utili*", 1.5),
            ("saturation", 1.5),
            ("flapping", 1.5),
            ("down", 0.5),
            ("response time", 2.0),
        ],
    ),
    (
        Intent::Analytics,
        &[
            ("revenue", 2.0),
            ("sales", 2.0),
            ("total*", 1.0),
            ("sum", 1.0),
            ("average", 1.0),
            ("how many", 1.5),
            ("report", 1.0),
            ("trend*", 1.0),
            ("top", 1.0),
            ("most often", 1.5),
            ("overdue", 1.5),
            ("growth", 1.5),
            ("kpi", 2.0),
            ("forecast*", 2.0),
            ("quarter*", 1.5),
            ("monthly", 1.0),
            ("weekly", 1.0),
            ("each week", 1.0),
            ("each month", 1.0),
            ("invoice", 1.0),
            ("customer", 1.0),
            ("regist*", 1.0),
            ("supplier", 1.0),
            ("product", 1.0),
            ("category", 1.0),
            ("count", 0.5),
            ("breakdown", 1.5),
            ("distribution", 1.0),
            ("churn", 2.0),
            ("conversion", 1.5),
            ("cohort", 2.0),
            ("profit*", 2.0),
            ("spend*", 1.0),
        ],
    ),
    (
        Intent::Investigation,
        &[
            ("compare", 2.0),
            ("comparison", 2.0),
            ("correlat*", 2.0),
            ("match", 1.5),
            ("cross reference", 2.0),
            ("crossreference", 2.0),
            ("check whether", 1.5),
            ("investigat*", 2.0),
            ("timeline", 1.5),
            ("for user", 2.0),
            ("pull", 1.0),
            ("who", 1.0),
            ("find", 0.5),
            ("look up", 1.0),
            ("lookup", 1.0),
            ("with no", 0.5),
            ("missing", 0.5),
            ("verify", 1.0),
            ("account record", 1.0),
            ("his", 1.0),
            ("her", 1.0),
            ("associated", 1.0),
            ("trace back", 1.5),
            ("activity of", 1.0),
            ("what happened", 2.0),
            ("related to", 1.0),
            ("trace", 1.0),
            ("everything", 1.0),
            ("all activity", 1.5),
            ("across", 1.0),
        ],
    ),
];

const AGGREGATION: &[&str] = &[
    "count",
    "how many",
    "total*",
    "sum",
    "average",
    "avg",
    "mean",
    "median",
    "per",
    "group by",
    "grouped",
    "top",
    "most",
    "rate",
    "distribution",
    "percentile",
    "p95",
    "p99",
    "p50",
    "max*",
    "min",
    "minimum",
    "number of",
    "breakdown",
    "histogram",
    "stats",
    "aggregat*",
];

const TIME_SERIES: &[&str] = &[
    "each week",
    "each day",
    "each month",
    "each hour",
    "per hour",
    "per day",
    "per week",
    "per minute",
    "per month",
    "over time",
    "trend*",
    "plot",
    "chart",
    "graph",
    "timeline",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "time series",
    "timechart",
    "over the last",
];

const JOINS: &[&str] = &[
    "compare",
    "comparison",
    "correlat*",
    "match",
    "join*",
    "cross reference",
    "crossreference",
    "combine",
    "versus",
    "vs",
    "against",
];

/// Phrases of a trail across sources: the request may describe sources it does not name.
const INVESTIGATIVE: &[&str] = &[
    "for user",
    "trace",
    "timeline",
    "everything",
    "all activity",
    "across",
];

const WIKI: &[&str] = &[
    "documentation",
    "docs",
    "wiki",
    "how do",
    "how to",
    "what is",
    "what does",
    "explain",
    "architecture",
    "who owns",
    "owner",
    "design",
];

const TIME_UNITS: &[(&str, &str)] = &[
    ("minute", "minutes"),
    ("min", "minutes"),
    ("mins", "minutes"),
    ("hour", "hours"),
    ("hr", "hours"),
    ("hrs", "hours"),
    ("day", "days"),
    ("week", "weeks"),
    ("month", "months"),
    ("quarter", "quarters"),
    ("year", "years"),
];

/// Analyses `query` with keyword rules only. Pure and cheap: always run, model or not.
pub fn analyze(query: &str, ctx: &PlanningContext, opts: &AnalyzerOptions) -> KeywordAnalysis {
    let text = Text::new(query);
    let mut entities = Entities::default();
    let mut platforms = platform_evidence(&text, ctx, &mut entities);
    let characteristics = characteristics(&text);
    let offered = ctx.offered_platforms();
    let investigative = characteristics.has_joins || INVESTIGATIVE.iter().any(|t| text.has(t));
    let (required, platform_note) = decide_platforms(&platforms, &offered, investigative, opts);
    // Offered platforms without evidence are listed too, for the record and for fusion.
    for p in &offered {
        if !platforms.iter().any(|e| &e.platform == p) {
            platforms.push(PlatformEvidence {
                platform: p.clone(),
                strength: Strength::None,
                soft_score: 0.0,
                cues: Vec::new(),
                offered: true,
            });
        }
    }
    for e in &mut platforms {
        e.offered = offered.contains(&e.platform);
    }
    platforms.sort_by(|a, b| {
        b.strength
            .cmp(&a.strength)
            .then(b.soft_score.total_cmp(&a.soft_score))
    });

    entities.fields = fields(&text);
    entities.time_range = time_range(&text);
    let (error, error_cue) = error_evidence(&text);
    let mut intent_scores = intent_scores(&text, &error, required.len());
    intent_scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let intent = pick_intent(&intent_scores, &required);

    let mut characteristics = characteristics;
    if required.len() > 1 {
        characteristics.has_joins = true;
    }
    let complexity = complexity(&mut characteristics, &required, &entities, &text);
    let knowledge = KnowledgeRequirements {
        requires_sop: !(intent == Intent::Analytics && complexity == Complexity::Simple),
        requires_error_knowledge: error == ErrorEvidence::Hard,
        requires_schema: !entities.tables.is_empty()
            || !entities.indexes.is_empty()
            || !entities.fields.is_empty()
            || required.contains(&Platform::Sql)
            || required.iter().any(|p| ctx.schema_hints.contains_key(p))
            || characteristics.has_joins,
        requires_wiki: WIKI.iter().any(|w| text.has(w)),
    };
    let confidence = confidence(&platforms, &required, &intent_scores);
    let reasoning = reasoning(
        &platforms,
        &required,
        platform_note,
        intent,
        &intent_scores,
        &error,
        error_cue,
    );
    KeywordAnalysis {
        analysis: QueryAnalysis {
            intent,
            complexity,
            required_platforms: required,
            confidence,
            reasoning,
            entities,
            knowledge_requirements: knowledge,
            query_characteristics: characteristics,
            source: AnalysisSource::Fallback,
            fallback_reason: None,
        },
        platforms,
        error,
        intent_scores,
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x.eq_ignore_ascii_case(item)) {
        list.push(item.to_string());
    }
}

#[derive(Default)]
struct Tally {
    hard: Vec<String>,
    soft: f64,
    soft_cues: Vec<String>,
}

fn platform_evidence(
    text: &Text,
    ctx: &PlanningContext,
    entities: &mut Entities,
) -> Vec<PlatformEvidence> {
    let mut tally: BTreeMap<Platform, Tally> = BTreeMap::new();
    let hard = |tally: &mut BTreeMap<Platform, Tally>, p: &Platform, cue: String| {
        let t = tally.entry(p.clone()).or_default();
        if !t.hard.contains(&cue) {
            t.hard.push(cue);
        }
    };

    // Tables and indexes the caller listed for a platform.
    let mut hinted: Vec<(String, Platform)> = Vec::new();
    for (platform, hint) in &ctx.schema_hints {
        for (names, is_index) in [(&hint.tables, false), (&hint.indexes, true)] {
            for name in names.iter().filter(|n| text.mentions_name(n)) {
                hard(&mut tally, platform, format!("'{name}' (schema hint)"));
                push_unique(
                    if is_index {
                        &mut entities.indexes
                    } else {
                        &mut entities.tables
                    },
                    name,
                );
                hinted.push((name.to_lowercase(), platform.clone()));
            }
        }
    }

    for (platform, vocab) in [
        (Platform::Kql, &KQL),
        (Platform::Spl, &SPL),
        (Platform::Sql, &SQL),
    ] {
        for term in vocab.hard {
            for at in text.find(term) {
                let azure_db = *term == "azure"
                    && text
                        .word(at + 1)
                        .is_some_and(|next| AZURE_DATABASES.iter().any(|w| word_matches(w, next)));
                if !azure_db {
                    hard(&mut tally, &platform, format!("'{term}'"));
                }
            }
        }
        for table in vocab.tables {
            if text.has_name(table) {
                hard(
                    &mut tally,
                    &platform,
                    format!("'{table}' ({platform} table)"),
                );
                push_unique(&mut entities.tables, table);
            }
        }
        for (term, weight) in vocab.soft {
            if text.has(term) {
                let t = tally.entry(platform.clone()).or_default();
                t.soft += weight;
                t.soft_cues.push((*term).trim_end_matches('*').to_string());
            }
        }
    }

    // `index=web`: Splunk syntax.
    let mut rest = text.lower.as_str();
    while let Some(pos) = rest.find("index") {
        let after = rest[pos + 5..].trim_start();
        if let Some(value) = after.strip_prefix('=') {
            let name: String = value
                .trim_start_matches([' ', '"', '\''])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            hard(&mut tally, &Platform::Spl, "'index='".to_string());
            if !name.is_empty() {
                push_unique(&mut entities.indexes, &name);
            }
        }
        rest = &rest[pos + 5..];
    }

    // `the network index`: a Splunk index, unless it reads as a database index.
    for at in text.find("index") {
        if text.near(at, 2, DB_INDEX_WORDS) {
            continue;
        }
        hard(&mut tally, &Platform::Spl, "'index'".to_string());
        let before = at.checked_sub(1).and_then(|i| text.tokens.get(i));
        if let Some(name) = before.filter(|t| !NAME_STOPWORDS.contains(&t.lower.as_str())) {
            push_unique(&mut entities.indexes, &name.lower);
        }
    }

    // `the Users table`: a relational table, unless the name belongs to another platform.
    let known_elsewhere = |name: &str| {
        let lower = name.to_lowercase();
        // `Kusto tables`, `Sentinel table`: the neighbour names the platform itself.
        KQL.hard.iter().chain(SPL.hard).any(|t| *t == lower)
            || KQL.tables.iter().any(|t| t.eq_ignore_ascii_case(&lower))
            || hinted
                .iter()
                .any(|(n, p)| n == &lower && p != &Platform::Sql)
    };
    for at in text.find("table") {
        let neighbours = [at.checked_sub(1), Some(at + 1)];
        let names: Vec<&str> = neighbours
            .iter()
            .flatten()
            .filter_map(|&i| text.tokens.get(i))
            .map(|t| t.original.as_str())
            .collect();
        if names.iter().any(|n| known_elsewhere(n)) {
            continue;
        }
        hard(&mut tally, &Platform::Sql, "'table'".to_string());
        for name in names {
            let looks_named =
                name.chars().next().is_some_and(char::is_uppercase) || is_identifier_like(name);
            if looks_named && !NAME_STOPWORDS.contains(&name.to_lowercase().as_str()) {
                push_unique(&mut entities.tables, name);
            }
        }
    }

    // Other identifiers typed in the query read as table names.
    for t in &text.tokens {
        let lower = t.lower.as_str();
        if t.original.chars().skip(1).any(char::is_uppercase)
            && t.original.chars().any(char::is_lowercase)
            && !t.original.contains('_')
            && !SPL.hard.contains(&lower)
            && !KQL.hard.contains(&lower)
        {
            push_unique(&mut entities.tables, &t.original);
        }
    }

    // The offered agents' own words: a platform id or a distinctive word of its agent's name.
    for agent in &ctx.data_agents {
        let Some(platform) = &agent.platform else {
            continue;
        };
        let known = Platform::KNOWN.contains(platform);
        if !known && text.has_name(platform.as_str()) {
            hard(
                &mut tally,
                platform,
                format!("'{platform}' (platform name)"),
            );
        }
        let name = Text::new(&agent.agent_name);
        for word in name.tokens.iter().map(|t| t.lower.as_str()) {
            if word.len() < 3 || AGENT_NAME_STOPWORDS.contains(&word) || !text.has_name(word) {
                continue;
            }
            if known {
                let t = tally.entry(platform.clone()).or_default();
                if !t.soft_cues.iter().any(|c| c == word) {
                    t.soft += 1.0;
                    t.soft_cues.push(word.to_string());
                }
            } else {
                hard(
                    &mut tally,
                    platform,
                    format!("'{word}' (agent {})", agent.agent_id),
                );
            }
        }
    }

    tally
        .into_iter()
        .filter(|(_, t)| !t.hard.is_empty() || t.soft > 0.0)
        .map(|(platform, t)| PlatformEvidence {
            platform,
            strength: if t.hard.is_empty() {
                Strength::Soft
            } else {
                Strength::Hard
            },
            soft_score: t.soft,
            cues: if t.hard.is_empty() {
                t.soft_cues.iter().map(|c| format!("'{c}'")).collect()
            } else {
                t.hard
            },
            offered: false,
        })
        .collect()
}

/// Picks the platforms; the note says how, for the reasoning.
fn decide_platforms(
    evidence: &[PlatformEvidence],
    offered: &[Platform],
    investigative: bool,
    opts: &AnalyzerOptions,
) -> (Vec<Platform>, &'static str) {
    let hard: Vec<Platform> = evidence
        .iter()
        .filter(|e| e.strength == Strength::Hard)
        .map(|e| e.platform.clone())
        .collect();
    let score = |p: &Platform| {
        evidence
            .iter()
            .find(|e| &e.platform == p)
            .map_or(0.0, |e| e.soft_score)
    };
    // Soft candidates among the offered platforms, best first, ties in offered order.
    let mut soft_offered: Vec<(&Platform, f64)> = offered
        .iter()
        .filter(|p| !hard.contains(p))
        .map(|p| (p, score(p)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    soft_offered.sort_by(|a, b| b.1.total_cmp(&a.1));

    if !hard.is_empty() {
        let mut required = hard;
        // A comparison or a trail across sources names some sources outright and describes
        // the others.
        if investigative {
            required.extend(
                soft_offered
                    .iter()
                    .filter(|(_, s)| *s >= DESCRIBED)
                    .map(|(p, _)| (*p).clone()),
            );
        }
        return (required, "named outright");
    }

    let best_unoffered = evidence
        .iter()
        .filter(|e| !offered.contains(&e.platform))
        .map(|e| (&e.platform, e.soft_score))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match (soft_offered.first(), best_unoffered) {
        (Some(&(best, s)), unoffered) => {
            if let Some((u, us)) = unoffered
                && us >= DESCRIBED
                && us >= 2.0 * s
            {
                return (
                    vec![u.clone()],
                    "by its vocabulary, which no offered agent serves",
                );
            }
            let mut required = vec![best.clone()];
            if investigative
                && let Some(&(second, s2)) = soft_offered.get(1)
                && s2 >= DESCRIBED
                && s2 >= COMPARABLE * s
            {
                required.push(second.clone());
            }
            (required, "by its vocabulary")
        }
        (None, Some((u, us))) if us >= DESCRIBED => (
            vec![u.clone()],
            "by its vocabulary, which no offered agent serves",
        ),
        _ => {
            let pick = if offered.len() == 1 {
                offered.first()
            } else {
                opts.default_platforms
                    .iter()
                    .find(|p| offered.contains(p))
                    .or(offered.first())
            };
            match pick {
                Some(p) => (vec![p.clone()], "by default: the query names no platform"),
                None => (
                    Vec::new(),
                    "none: no platform evidence and no data agent offered",
                ),
            }
        }
    }
}

fn error_evidence(text: &Text) -> (ErrorEvidence, Option<String>) {
    for term in ERROR_HARD {
        if text.has(term) {
            return (
                ErrorEvidence::Hard,
                Some(term.trim_end_matches('*').to_string()),
            );
        }
    }
    let failures = text.find("fail*");
    if let Some(&at) = failures.iter().find(|&&at| !text.near(at, 3, AUTH_WORDS)) {
        let word = text.tokens[at].lower.clone();
        return (ErrorEvidence::Hard, Some(word));
    }
    if !failures.is_empty() {
        return (ErrorEvidence::AuthFailureOnly, None);
    }
    if ERROR_WEAK.iter().any(|t| text.has(t)) {
        return (ErrorEvidence::Weak, None);
    }
    (ErrorEvidence::None, None)
}

fn intent_scores(text: &Text, error: &ErrorEvidence, platforms: usize) -> Vec<(Intent, f64)> {
    INTENT_VOCAB
        .iter()
        .map(|(intent, vocab)| {
            let mut score: f64 = vocab
                .iter()
                .filter(|(t, _)| text.has(t))
                .map(|(_, w)| w)
                .sum();
            match intent {
                // A failure next to a login is an authentication event; elsewhere it is an error.
                Intent::Security if *error == ErrorEvidence::AuthFailureOnly => score += 2.0,
                Intent::Diagnostic if *error == ErrorEvidence::Hard && text.has("fail*") => {
                    score += 2.0
                }
                Intent::Investigation if platforms > 1 => score += 1.5,
                _ => {}
            }
            (*intent, score)
        })
        .collect()
}

fn pick_intent(scores: &[(Intent, f64)], required: &[Platform]) -> Intent {
    const PRIORITY: [Intent; 5] = [
        Intent::Security,
        Intent::Diagnostic,
        Intent::Investigation,
        Intent::Monitoring,
        Intent::Analytics,
    ];
    let best = scores.first().map_or(0.0, |s| s.1);
    if best <= 0.0 {
        return match required.first() {
            Some(Platform::Sql) => Intent::Analytics,
            Some(Platform::Spl) => Intent::Monitoring,
            _ => Intent::Investigation,
        };
    }
    PRIORITY
        .into_iter()
        .find(|i| scores.iter().any(|(j, s)| j == i && *s == best))
        .unwrap_or(Intent::Investigation)
}

fn characteristics(text: &Text) -> QueryCharacteristics {
    QueryCharacteristics {
        is_aggregation: AGGREGATION.iter().any(|t| text.has(t)),
        is_time_series: TIME_SERIES.iter().any(|t| text.has(t)),
        has_joins: JOINS.iter().any(|t| text.has(t)),
        complexity_factors: Vec::new(),
    }
}

fn complexity(
    ch: &mut QueryCharacteristics,
    required: &[Platform],
    entities: &Entities,
    text: &Text,
) -> Complexity {
    let mut score = 0;
    let mut factors = Vec::new();
    if required.len() > 1 {
        score += 2 * (required.len() - 1);
        factors.push(format!("{} platforms", required.len()));
    }
    for (on, name) in [
        (ch.has_joins, "joins or correlation"),
        (ch.has_joins && required.len() > 1, "cross-platform join"),
        (ch.is_aggregation, "aggregation"),
        (ch.is_time_series, "time series"),
        (
            entities.tables.len() + entities.indexes.len() > 1,
            "several tables",
        ),
        (text.tokens.len() > 25, "long request"),
    ] {
        if on {
            score += 1;
            factors.push(name.to_string());
        }
    }
    ch.complexity_factors = factors;
    match score {
        0..=1 => Complexity::Simple,
        2..=3 => Complexity::Moderate,
        _ => Complexity::Complex,
    }
}

fn fields(text: &Text) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in text.tokens.iter().enumerate() {
        if t.original.contains('_')
            && !t.original.starts_with('_')
            && is_identifier_like(&t.original)
        {
            push_unique(&mut out, &t.original);
        }
        // `by IP address`, `by region`: a grouping field, unless it is a time unit.
        if t.lower == "by"
            && let Some(next) = text.tokens.get(i + 1)
        {
            let stop = NAME_STOPWORDS.contains(&next.lower.as_str())
                || TIME_UNITS.iter().any(|(u, _)| word_matches(u, &next.lower))
                || next.lower.chars().all(|c| c.is_ascii_digit())
                || ["more", "less", "than", "far", "default"].contains(&next.lower.as_str());
            if !stop {
                push_unique(&mut out, &next.lower);
            }
        }
    }
    out
}

fn time_range(text: &Text) -> Option<String> {
    let unit_of = |w: &str| {
        TIME_UNITS
            .iter()
            .find(|(u, _)| word_matches(u, w))
            .map(|(_, plural)| *plural)
    };
    let word = |i: usize| text.word(i).unwrap_or("");
    for i in 0..text.tokens.len() {
        let w = word(i);
        match w {
            "today" | "yesterday" | "tonight" => return Some(w.to_string()),
            "this" | "current" => {
                if let Some(u) = unit_of(word(i + 1)) {
                    return Some(format!("this {}", u.trim_end_matches('s')));
                }
            }
            "last" | "past" | "previous" | "over" | "within" | "since" => {
                // `the last 7 days`, `the past day`, `over 24 hours`, `since yesterday`
                let mut j = i + 1;
                if word(j) == "the" {
                    j += 1;
                }
                if ["last", "past"].contains(&word(j)) {
                    j += 1;
                }
                let n = word(j);
                if let Ok(count) = n.parse::<u32>()
                    && let Some(u) = unit_of(word(j + 1))
                {
                    let unit = if count == 1 {
                        u.trim_end_matches('s')
                    } else {
                        u
                    };
                    return Some(format!("last {count} {unit}"));
                }
                // `24h`, `7d`
                let (digits, suffix) =
                    n.split_at(n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len()));
                if let (Ok(count), Some(u)) = (
                    digits.parse::<u32>(),
                    match suffix {
                        "m" | "min" => Some("minutes"),
                        "h" => Some("hours"),
                        "d" => Some("days"),
                        "w" => Some("weeks"),
                        _ => None,
                    },
                ) {
                    return Some(format!("last {count} {u}"));
                }
                if let Some(u) = unit_of(n) {
                    if w != "over" && w != "within" {
                        return Some(format!("last {}", u.trim_end_matches('s')));
                    }
                    return Some(format!("last {}", u.trim_end_matches('s')));
                }
                if w == "since" && !n.is_empty() {
                    return Some(format!("since {n}"));
                }
            }
            _ => {}
        }
    }
    None
}

fn confidence(
    evidence: &[PlatformEvidence],
    required: &[Platform],
    intents: &[(Intent, f64)],
) -> f64 {
    let strengths: Vec<Strength> = required
        .iter()
        .map(|p| {
            evidence
                .iter()
                .find(|e| &e.platform == p)
                .map_or(Strength::None, |e| e.strength)
        })
        .collect();
    let mut c: f64 = if required.is_empty() {
        0.3
    } else if strengths.iter().all(|s| *s == Strength::Hard) {
        0.9
    } else if strengths.iter().all(|s| *s >= Strength::Soft) {
        0.7
    } else {
        0.35
    };
    let margin = match intents {
        [(_, a), (_, b), ..] => a - b,
        _ => 0.0,
    };
    if margin < 1.0 {
        c -= 0.05;
    }
    (c * 100.0).round() / 100.0
}

fn reasoning(
    evidence: &[PlatformEvidence],
    required: &[Platform],
    note: &str,
    intent: Intent,
    intents: &[(Intent, f64)],
    error: &ErrorEvidence,
    error_cue: Option<String>,
) -> String {
    let mut parts = Vec::new();
    let platforms: Vec<String> = required
        .iter()
        .map(|p| match evidence.iter().find(|e| &e.platform == p) {
            Some(e) if !e.cues.is_empty() => {
                let cues: Vec<&str> = e.cues.iter().take(3).map(String::as_str).collect();
                format!("{p} ({})", cues.join(", "))
            }
            _ => p.to_string(),
        })
        .collect();
    if platforms.is_empty() {
        parts.push(format!("platforms: {note}"));
    } else {
        parts.push(format!("platforms {note}: {}", platforms.join("; ")));
    }
    let score = intents.first().map_or(0.0, |s| s.1);
    parts.push(format!("intent {} (score {score:.1})", intent.as_str()));
    match (error, error_cue) {
        (ErrorEvidence::Hard, Some(cue)) => parts.push(format!("error knowledge: '{cue}'")),
        (ErrorEvidence::AuthFailureOnly, _) => {
            parts.push("failures are authentication events, not errors".to_string())
        }
        _ => {}
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentDescriptor, SchemaHint};

    fn agent(id: &str, name: &str, platform: &str) -> AgentDescriptor {
        AgentDescriptor {
            agent_id: id.into(),
            agent_name: name.into(),
            capabilities: vec!["generate_query".into()],
            knowledge_domain: None,
            platform: Platform::parse(platform),
        }
    }

    fn ctx(platforms: &[&str]) -> PlanningContext {
        PlanningContext {
            data_agents: platforms
                .iter()
                .map(|p| {
                    agent(
                        &format!("{p}_data"),
                        &format!("{} Data Agent", p.to_uppercase()),
                        p,
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    fn platforms_of(query: &str, offered: &[&str]) -> Vec<String> {
        let a = analyze(query, &ctx(offered), &AnalyzerOptions::default());
        a.analysis
            .required_platforms
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_named_product_selects_its_platform() {
        assert_eq!(
            platforms_of(
                "Any Kusto tables about VM restarts?",
                &["kql", "spl", "sql"]
            ),
            ["kql"]
        );
        assert_eq!(
            platforms_of("top talkers in splunk", &["kql", "spl", "sql"]),
            ["spl"]
        );
        assert_eq!(
            platforms_of("rows in the staging db", &["kql", "spl", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn several_named_platforms_are_all_required() {
        let got = platforms_of(
            "Match Entra sign-ins against the HR database and Splunk proxy logs",
            &["kql", "spl", "sql"],
        );
        assert_eq!(got, ["kql", "spl", "sql"]);
    }

    #[test]
    fn azure_sql_is_a_database_not_azure_monitor() {
        assert_eq!(
            platforms_of("slow queries on the Azure SQL instance", &["kql", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn subject_vocabulary_decides_without_a_named_platform() {
        assert_eq!(
            platforms_of(
                "which VPN gateways dropped tunnels overnight",
                &["kql", "spl", "sql"]
            ),
            ["spl"]
        );
        assert_eq!(
            platforms_of("average basket price per customer", &["kql", "spl", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn an_unoffered_named_platform_is_still_required_so_it_can_be_warned_about() {
        assert_eq!(
            platforms_of("search splunk for beaconing", &["sql"]),
            ["spl"]
        );
    }

    #[test]
    fn no_evidence_falls_back_to_the_only_or_default_platform() {
        assert_eq!(platforms_of("show me the thing", &["sql"]), ["sql"]);
        assert_eq!(platforms_of("show me the thing", &["spl", "kql"]), ["kql"]);
        assert!(platforms_of("show me the thing", &[]).is_empty());
    }

    #[test]
    fn schema_hint_tables_are_hard_evidence_and_entities() {
        let mut c = ctx(&["kql", "sql"]);
        c.schema_hints.insert(
            Platform::Sql,
            SchemaHint {
                tables: vec!["Shipments".into()],
                indexes: vec![],
            },
        );
        let a = analyze("latest rows of shipments", &c, &AnalyzerOptions::default());
        assert_eq!(a.analysis.required_platforms, [Platform::Sql]);
        assert_eq!(a.analysis.entities.tables, ["Shipments"]);
        assert_eq!(
            a.evidence_for(&Platform::Sql).map(|e| e.strength),
            Some(Strength::Hard)
        );
    }

    #[test]
    fn unknown_platforms_are_found_through_their_agents_names() {
        let mut c = ctx(&["kql"]);
        c.data_agents
            .push(agent("prom", "Prometheus Metrics Agent", "promql"));
        let a = analyze(
            "container restarts in prometheus",
            &c,
            &AnalyzerOptions::default(),
        );
        assert_eq!(
            a.analysis.required_platforms,
            [Platform::Other("promql".into())]
        );
    }

    #[test]
    fn login_failures_are_security_not_errors() {
        let a = analyze(
            "failed logon attempts for admins",
            &ctx(&["kql"]),
            &AnalyzerOptions::default(),
        );
        assert!(!a.analysis.knowledge_requirements.requires_error_knowledge);
        assert_eq!(a.error, ErrorEvidence::AuthFailureOnly);
        assert_eq!(a.analysis.intent, Intent::Security);
    }

    #[test]
    fn job_failures_and_exceptions_need_error_knowledge() {
        for q in [
            "why did the backup job fail",
            "NullReference exceptions in checkout",
            "timeouts talking to redis",
        ] {
            let a = analyze(q, &ctx(&["kql"]), &AnalyzerOptions::default());
            assert!(
                a.analysis.knowledge_requirements.requires_error_knowledge,
                "{q}"
            );
            assert_eq!(a.analysis.intent, Intent::Diagnostic, "{q}");
        }
    }

    #[test]
    fn splunk_indexes_and_time_ranges_are_extracted() {
        let a = analyze(
            "count 404s from index=web_prod over the past 24 hours",
            &ctx(&["spl"]),
            &AnalyzerOptions::default(),
        );
        assert_eq!(a.analysis.entities.indexes, ["web_prod"]);
        assert_eq!(
            a.analysis.entities.time_range.as_deref(),
            Some("last 24 hours")
        );
        assert!(a.analysis.query_characteristics.is_aggregation);
    }

    #[test]
    fn time_ranges_in_common_shapes() {
        let t = |q: &str| time_range(&Text::new(q));
        assert_eq!(t("in the last 7 days").as_deref(), Some("last 7 days"));
        assert_eq!(t("over the past day").as_deref(), Some("last day"));
        assert_eq!(t("errors this week").as_deref(), Some("this week"));
        assert_eq!(t("since yesterday").as_deref(), Some("since yesterday"));
        assert_eq!(t("last 24h").as_deref(), Some("last 24 hours"));
        assert_eq!(t("no time here"), None);
    }

    #[test]
    fn multi_platform_correlation_is_complex_with_joins() {
        let a = analyze(
            "Correlate Splunk firewall blocks with Azure sign-in failures by IP address",
            &ctx(&["kql", "spl", "sql"]),
            &AnalyzerOptions::default(),
        );
        let ch = &a.analysis.query_characteristics;
        assert!(ch.has_joins);
        assert_eq!(a.analysis.complexity, Complexity::Complex);
        assert!(
            a.analysis.reasoning.contains("splunk"),
            "{}",
            a.analysis.reasoning
        );
        assert!(a.analysis.confidence >= 0.8);
    }

    #[test]
    fn the_table_word_does_not_claim_a_kql_table_for_sql() {
        assert_eq!(
            platforms_of("newest rows of the SigninLogs table", &["kql", "sql"]),
            ["kql"]
        );
    }

    #[test]
    fn database_indexes_are_not_splunk_indexes() {
        assert_eq!(
            platforms_of(
                "missing index on the orders table in postgres",
                &["spl", "sql"]
            ),
            ["sql"]
        );
    }
}
