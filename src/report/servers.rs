//! Which server each row is: its version and what serves it, from its
//! manifest's description (for the Python five, the built-in server the
//! seed used, and what `--workers` means there).

use crate::record::{RunRecord, ServerRecord};
use crate::report::table::{Align, Table};

pub fn servers_table(run: &RunRecord) -> Table {
    let mut table = Table::new(&["server", "version", "served by"])
        .aligned(1, Align::Left)
        .aligned(2, Align::Left);
    for s in &run.servers {
        table.push(vec![
            s.name.clone(),
            s.version.clone().unwrap_or_else(|| "-".into()),
            served_by(s),
        ]);
    }
    table
}

/// Its description, and the settings it could not be given.
fn served_by(server: &ServerRecord) -> String {
    if server.not_settable.is_empty() {
        return server.description.clone();
    }
    let settings: Vec<&str> = server.not_settable.iter().map(|s| s.as_str()).collect();
    format!(
        "{} ({}: not settable, its own default)",
        server.description,
        settings.join(", ")
    )
}

/// One row per request a server declared: what it sends, what counts as
/// its success, and which phases send it.
pub fn requests_table(run: &RunRecord) -> Table {
    let mut table = Table::new(&[
        "server",
        "request",
        "sends",
        "success",
        "burst",
        "mix weight",
    ])
    .aligned(1, Align::Left)
    .aligned(2, Align::Left)
    .aligned(3, Align::Left);
    for s in &run.servers {
        for r in &s.requests {
            table.push(vec![
                s.name.clone(),
                r.name.to_string(),
                r.sent.clone(),
                r.expect.clone(),
                if r.burst { "yes" } else { "-" }.to_owned(),
                r.weight.map_or("-".to_owned(), |w| w.to_string()),
            ]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_has_a_row_with_its_description() {
        let mut run = crate::fixtures::run();
        run.servers[0].description = "bottle on wsgiref (one thread)".into();
        run.servers[0].version = Some("0.13.4".into());
        let text = servers_table(&run).to_terminal();
        let row = text.lines().nth(1).unwrap();
        assert!(row.contains("0.13.4") && row.ends_with("bottle on wsgiref (one thread)"));
        assert_eq!(text.lines().count(), 1 + run.servers.len(), "{text}");
    }

    #[test]
    fn a_setting_a_server_cannot_take_is_said_in_its_row() {
        let mut run = crate::fixtures::run();
        run.servers[0].description = "http.server".into();
        run.servers[0].not_settable = vec![
            crate::server::manifest::Setting::Backlog,
            crate::server::manifest::Setting::Workers,
        ];
        let text = servers_table(&run).to_terminal();
        assert!(
            text.contains("http.server (backlog, workers: not settable, its own default)"),
            "{text}"
        );
    }

    #[test]
    fn declared_requests_are_listed_with_their_part_in_each_phase() {
        let mut requests = crate::load::request::contract();
        requests[1].method = crate::load::Method::Post;
        requests[1].body = b"{}".to_vec();
        requests[1].expect.body = crate::load::BodyCheck::Length(27);
        let mix =
            crate::load::Mix::weighted(vec![(requests[0].clone(), 3), (requests[1].clone(), 1)])
                .unwrap();
        let set = crate::load::request::RequestSet::declared(requests, 1, mix);
        let mut run = crate::fixtures::run();
        run.servers[0].requests = crate::record::RequestInfo::of(&set);
        let text = requests_table(&run).to_terminal();
        assert!(text.contains("POST /json (2 bytes)"), "{text}");
        assert!(text.contains("200, 27 bytes"), "{text}");
        assert!(text.contains("200, 13 bytes exactly"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
