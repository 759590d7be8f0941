//! `index.html`: one self-contained page (inline SVG charts, inline CSS, no
//! script, no external reference) that reads offline in any browser.

use super::series::trajectories;
use super::{RunRecords, SCORES_PNG, SCORES_SVG, SUCCESS_PNG, SUCCESS_SVG};
use crate::outer::{Manifest, SplitResult, Summary};
use std::fmt::Write as _;

/// `text` with the five HTML special characters escaped (safe in element
/// content and in quoted attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document ready to inline in HTML: any XML declaration or doctype
/// before `<svg` dropped, and the SVG namespace attribute removed (HTML
/// puts inline `<svg>` in that namespace itself).
pub fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..]
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .trim_end()
        .to_owned()
}

const STYLE: &str = "\
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 2em auto; max-width: 1320px; \
padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.92em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.note { background: #fff4d6; border-left: 4px solid #f0b429; padding: 0.6em 1em; }
figure { margin: 1em 0 2em; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.92em; }
";

/// The whole page of `records`, with the two charts' SVG documents inlined.
pub fn index(records: &RunRecords, scores_svg: &str, success_svg: &str) -> String {
    let config = &records.config;
    let title = format!(
        "{}: DERL on {}",
        config.experiment.name, config.env.component
    );
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{}: DERL on <code>{}</code></h1>\n",
        escape(&title),
        escape(&config.experiment.name),
        escape(&config.env.component)
    );
    match (&records.summary, records.unfinished_note()) {
        (Some(summary), _) => {
            let _ = writeln!(
                page,
                "<p>Finished: {} outer iterations of {} programs per search method; final \
                 success is the mean ± std over {} fresh policies trained with each method's \
                 best program.</p>",
                summary.iterations, summary.group_size, summary.final_seeds
            );
            summary_table(&mut page, summary);
        }
        (None, note) => {
            let _ = writeln!(
                page,
                "<p class=\"note\">{}</p>",
                escape(&note.unwrap_or_default())
            );
        }
    }
    charts(&mut page, scores_svg, success_svg);
    best_programs(&mut page, records);
    configuration(&mut page, records);
    if let Some(manifest) = &records.manifest {
        manifest_table(&mut page, manifest);
    }
    let _ = write!(
        page,
        "<hr>\n<p><small>Written by <code>derl report</code> {} from the records of {}.</small></p>\n\
         </body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&records.dir.display().to_string())
    );
    page
}

fn summary_table(page: &mut String, summary: &Summary) {
    let splits: Vec<_> = summary
        .methods
        .first()
        .map(|m| m.splits.iter().map(|s| s.split).collect())
        .unwrap_or_default();
    page.push_str("<h2>Summary</h2>\n<table>\n<tr><th>method</th><th>best program</th>");
    for split in &splits {
        let _ = write!(page, "<th>{}</th>", split.name());
    }
    page.push_str(
        "<th>search score</th><th>invalid (search)</th><th>env steps (search)</th>\
         <th>env steps (final)</th></tr>\n",
    );
    for method in &summary.methods {
        let _ = write!(
            page,
            "<tr><td>{}</td><td><code>{}</code></td>",
            method.method,
            escape(&method.program)
        );
        for split in &method.splits {
            let _ = write!(page, "<td class=\"num\">{}</td>", split_cell(split));
        }
        let _ = writeln!(
            page,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            method.search_score_text(),
            method.search_invalid,
            method.search_env_steps,
            method.final_env_steps
        );
    }
    page.push_str("</table>\n");
    let legend: Vec<String> = summary
        .primitives
        .iter()
        .enumerate()
        .map(|(index, name)| format!("<code>g{}</code> = {}", index + 1, escape(name)))
        .collect();
    let _ = writeln!(page, "<p>Primitives: {}.</p>", legend.join(", "));
}

fn split_cell(split: &SplitResult) -> String {
    if split.values.is_empty() {
        "invalid".to_owned()
    } else {
        format!("{:.3} ± {:.3}", split.mean, split.std)
    }
}

fn charts(page: &mut String, scores_svg: &str, success_svg: &str) {
    let _ = write!(
        page,
        "<h2>Charts</h2>\n<figure>\n{}\n<figcaption>Each search method's best (solid) and mean \
         (dashed) program score per outer iteration. Also as <a href=\"{SCORES_SVG}\">SVG</a> \
         and <a href=\"{SCORES_PNG}\">PNG</a>.</figcaption>\n</figure>\n<figure>\n{}\n\
         <figcaption>Left: the final evaluation per method and split (bars: mean, whiskers: \
         ± std; × marks a method whose every final inner loop was invalid). Right: each \
         search method's best program score so far against the environment steps its search \
         spent (cached inner loops cost none). Also as <a href=\"{SUCCESS_SVG}\">SVG</a> and \
         <a href=\"{SUCCESS_PNG}\">PNG</a>.</figcaption>\n</figure>\n",
        inline_svg(scores_svg),
        inline_svg(success_svg)
    );
}

fn best_programs(page: &mut String, records: &RunRecords) {
    let methods = trajectories(&records.trajectory, &records.config.experiment.methods);
    if methods.is_empty() {
        return;
    }
    page.push_str("<h2>Best program per iteration</h2>\n");
    for trajectory in &methods {
        let _ = write!(
            page,
            "<h3>{}</h3>\n<table>\n<tr><th>iteration</th><th>best</th><th>mean</th>\
             <th>invalid</th><th>env steps</th><th>best program</th></tr>\n",
            trajectory.method
        );
        for row in &trajectory.rows {
            let _ = writeln!(
                page,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{:.3}</td>\
                 <td class=\"num\">{:.3}</td><td class=\"num\">{}/{}</td>\
                 <td class=\"num\">{}</td><td><code>{}</code></td></tr>",
                row.iteration + 1,
                row.best,
                row.mean,
                row.invalid,
                row.programs.len(),
                row.env_steps,
                escape(&row.best_program)
            );
        }
        page.push_str("</table>\n");
    }
}

fn configuration(page: &mut String, records: &RunRecords) {
    page.push_str("<h2>Configuration</h2>\n<table>\n");
    let table = toml::Table::try_from(&records.config).unwrap_or_default();
    for section in ["experiment", "env", "inner", "outer", "derl_pop", "final"] {
        let Some(toml::Value::Table(values)) = table.get(section) else {
            continue;
        };
        let pairs: Vec<String> = values
            .iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let _ = writeln!(
            page,
            "<tr><th>[{section}]</th><td><code>{}</code></td></tr>",
            escape(&pairs.join(", "))
        );
    }
    let _ = write!(
        page,
        "</table>\n<details>\n<summary>config.toml (every key)</summary>\n<pre>{}</pre>\n</details>\n",
        escape(&records.config_text)
    );
}

fn manifest_table(page: &mut String, manifest: &Manifest) {
    let seeds = &manifest.seeds;
    let list = |values: &[u64]| {
        values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = [
        ("derl version", manifest.derl_version.clone()),
        (
            "git commit",
            manifest
                .git_commit
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
        ),
        ("config.toml sha256", manifest.config_sha256.clone()),
        (
            "environment",
            format!(
                "{} (sha256 {})",
                manifest.environment.component, manifest.environment.sha256
            ),
        ),
        ("primitives", manifest.environment.primitives.join(", ")),
        (
            "compiled rewards",
            format!("{} distinct programs", manifest.rewards.len()),
        ),
        ("experiment seed", seeds.experiment.to_string()),
        (
            "Meta-Optimizer seeds",
            format!(
                "init {}, cold start {}",
                seeds.meta_init, seeds.meta_pretrain
            ),
        ),
        ("search seeds", list(&seeds.search)),
        ("final seeds", list(&seeds.final_eval)),
    ];
    page.push_str("<h2>Manifest</h2>\n<table>\n");
    for (key, value) in rows {
        let _ = writeln!(
            page,
            "<tr><th>{key}</th><td><code>{}</code></td></tr>",
            escape(&value)
        );
    }
    page.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("g1 + 0.5*g2"), "g1 + 0.5*g2");
    }

    #[test]
    fn the_page_inlines_both_charts_and_references_nothing_outside() {
        use crate::experiment::{ExperimentConfig, Method};
        use crate::outer::TrajectoryRow;
        use crate::report::charts::{ScoresFigure, SuccessFigure, svg};
        let config = ExperimentConfig::with_env("corridor");
        let records = RunRecords {
            dir: "runs/page".into(),
            config_text: config.to_toml().unwrap(),
            config,
            manifest: None,
            metrics: Vec::new(),
            timings: Vec::new(),
            trajectory: vec![TrajectoryRow {
                method: Method::DERL,
                iteration: 0,
                programs: vec!["g1 < g2".into()],
                scores: vec![0.5],
                best: 0.5,
                best_program: "g1 < g2".into(),
                mean: 0.5,
                invalid: 0,
                env_steps: 10,
                warm_start: None,
                update: None,
            }],
            summary: None,
        };
        let scores = svg(&ScoresFigure::of(&records)).unwrap();
        let success = svg(&SuccessFigure::of(&records)).unwrap();
        assert!(scores.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        let page = index(&records, &scores, &success);
        assert_eq!(page.matches("<svg").count(), 2, "{page}");
        assert_eq!(page.matches("</svg>").count(), 2);
        assert!(!page.contains("http"), "{page}");
        assert!(!page.contains("<script") && !page.contains("<link"));
        assert!(page.contains("<code>g1 &lt; g2</code>"));
        assert!(page.contains("This run is unfinished: 1 of 20 outer iterations"));
    }

    #[test]
    fn inline_svg_drops_the_declaration_and_namespace() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"2\" height=\"2\" \
                   xmlns=\"http://www.w3.org/2000/svg\">\n<rect/>\n</svg>\n";
        assert_eq!(
            inline_svg(svg),
            "<svg width=\"2\" height=\"2\">\n<rect/>\n</svg>"
        );
    }
}
