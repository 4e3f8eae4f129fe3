//! Which server each row is: its version and what serves it, from its
//! manifest's description (for the Python five, the built-in server the
//! seed used, and what `--workers` means there).

use crate::record::RunRecord;
use crate::report::table::{Align, Table};

pub fn servers_table(run: &RunRecord) -> Table {
    let mut table = Table::new(&["server", "version", "served by"])
        .aligned(1, Align::Left)
        .aligned(2, Align::Left);
    for s in &run.servers {
        table.push(vec![
            s.name.clone(),
            s.version.clone().unwrap_or_else(|| "-".into()),
            s.description.clone(),
        ]);
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
}
