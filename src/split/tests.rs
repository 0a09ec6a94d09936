use super::*;

fn commands(sql: &str) -> Vec<String> {
    split(sql).into_iter().map(|s| s.command).collect()
}

#[test]
fn splits_at_top_level_semicolons_only() {
    let sql = "SELECT 'a;b', \"c;d\", $x$;$x$, E'\\';' ; -- c;\n/* x; /* y; */ */ INSERT INTO t VALUES (1);";
    let parts = split(sql);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0].command, "SELECT");
    assert_eq!(parts[1].command, "INSERT");
    assert_eq!(
        parts[1].text,
        "-- c;\n/* x; /* y; */ */ INSERT INTO t VALUES (1)"
    );
}

#[test]
fn empty_statements_are_dropped() {
    assert!(split("  ; ;-- only a comment\n").is_empty());
    assert_eq!(commands("SELECT 1;;SELECT 2;"), ["SELECT", "SELECT"]);
}

#[test]
fn finds_what_execute_runs() {
    assert_eq!(executed_name("EXECUTE p(1, 2)").as_deref(), Some("p"));
    assert_eq!(
        executed_name("/* c */ execute MyPlan").as_deref(),
        Some("myplan")
    );
    assert_eq!(
        executed_name(r#"EXECUTE "My""Plan""#).as_deref(),
        Some(r#"My"Plan"#)
    );
    assert_eq!(executed_name("SELECT 1"), None);
    assert_eq!(
        prepared_command("PREPARE p (int, text) AS INSERT INTO t VALUES ($1, $2)").as_deref(),
        Some("INSERT")
    );
    assert_eq!(
        prepared_command("prepare q as\nselect 'as' as x").as_deref(),
        Some("SELECT")
    );
    assert_eq!(
        prepared_command("UPDATE t SET a = 1").as_deref(),
        Some("UPDATE")
    );
    assert!(creates_if_not_exists(
        "CREATE TEMP TABLE IF NOT EXISTS t AS SELECT 1"
    ));
    assert!(creates_if_not_exists(
        "create materialized view if not exists v as select 1"
    ));
    assert!(!creates_if_not_exists("CREATE TABLE t AS SELECT 1"));
    assert!(!creates_if_not_exists("SELECT 'IF NOT EXISTS'"));
}

#[test]
fn names_commands_as_the_server_tags_them() {
    assert_eq!(commands("(select 1)"), ["SELECT"]);
    assert_eq!(commands("values (1)"), ["SELECT"]);
    assert_eq!(commands("TABLE t"), ["SELECT"]);
    assert_eq!(
        commands("with x as (select 1) insert into t select * from x"),
        ["INSERT"]
    );
    assert_eq!(
        commands("WITH RECURSIVE t(n) AS (VALUES (1)) SELECT n FROM t"),
        ["SELECT"]
    );
    assert_eq!(commands("end"), ["COMMIT"]);
    assert_eq!(commands("abort"), ["ROLLBACK"]);
    assert_eq!(commands("create table t (a int)"), ["CREATE"]);
    assert_eq!(commands("create temp table t as select 1"), ["SELECT"]);
    assert_eq!(
        commands("create materialized view v as select 1"),
        ["SELECT"]
    );
    assert_eq!(commands("create view v as select 1"), ["CREATE"]);
    assert_eq!(commands("set TimeZone = 'UTC'"), ["SET"]);
    assert_eq!(commands("do $$ begin perform 1; end $$"), ["DO"]);
    assert_eq!(commands("begin"), ["BEGIN"]);
}

#[test]
fn words_skip_quotes_and_comments() {
    let words: Vec<&str> = words("/* to */ ROLLBACK -- to\n PREPARED 'to'").collect();
    assert_eq!(words, ["ROLLBACK", "PREPARED"]);
}

#[test]
fn dollar_quotes_need_a_valid_tag() {
    // `$1` is a parameter, not a dollar quote.
    assert_eq!(split("SELECT $1; SELECT $2").len(), 2);
    assert_eq!(split("SELECT $a$ ; $a$").len(), 1);
}

#[test]
fn sql_standard_routine_bodies_are_one_statement() {
    let sql = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC \
               SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; SELECT x; END; SELECT f(1)";
    assert_eq!(commands(sql), ["CREATE", "SELECT"]);
    let procedure = "create procedure p() begin atomic insert into t values (1); end";
    assert_eq!(commands(procedure), ["CREATE"]);
    // BEGIN elsewhere is a transaction's.
    assert_eq!(
        commands("BEGIN; SELECT 1; END"),
        ["BEGIN", "SELECT", "COMMIT"]
    );
}

#[test]
fn placeholders_outside_quotes() {
    let sql = "SELECT $1, '$2', $$ $3 $$, \"$4\" -- $5\n, $10::int";
    let found: Vec<_> = placeholders(sql).map(|(r, n)| (&sql[r], n)).collect();
    assert_eq!(found, [("$1", 1), ("$10", 10)]);
}

#[test]
fn settings_that_change_how_values_are_written() {
    assert!(changes_rendering("SET TimeZone = 'UTC'"));
    assert!(changes_rendering("set local time zone 'Europe/Berlin'"));
    assert!(changes_rendering("SELECT 1; RESET ALL"));
    assert!(changes_rendering("SET SESSION DateStyle TO 'SQL, DMY'"));
    assert!(!changes_rendering("SET search_path TO app"));
    assert!(!changes_rendering("SELECT 'SET TimeZone'"));
    assert!(startup_changes_rendering(
        "-c search_path=a -c TimeZone=Asia/Kolkata"
    ));
    assert!(!startup_changes_rendering("-c statement_timeout=5000"));
}

#[test]
fn copy_with_the_client() {
    assert!(split("COPY (SELECT 1) TO STDOUT")[0].copies_with_client());
    assert!(split("copy t from stdin with (format csv)")[0].copies_with_client());
    assert!(!split("COPY t TO '/tmp/x'")[0].copies_with_client());
    assert!(!split("SELECT 'STDOUT'")[0].copies_with_client());
}

#[test]
fn no_data_creates_without_a_count() {
    assert_eq!(
        commands("create table t as select 1 with no data"),
        ["CREATE"]
    );
    assert_eq!(
        commands("CREATE MATERIALIZED VIEW v AS SELECT 1 WITH NO DATA"),
        ["CREATE"]
    );
    assert_eq!(commands("create table t as select 1 with data"), ["SELECT"]);
}

#[test]
fn row_counts_follow_the_command() {
    assert!(has_row_count("SELECT"));
    assert!(has_row_count("INSERT"));
    assert!(!has_row_count("CREATE"));
    assert!(!has_row_count("SET"));
}
