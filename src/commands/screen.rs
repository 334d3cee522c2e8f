//! `rempart screen`: the main job.

use anyhow::Result;

#[derive(clap::Args)]
#[command(after_help = "Output: one JSON object per valid listing on stdout, in input order: \
{\"id\", \"verdict\", \"matches\": [{\"policy\", \"rule\", \"action\", \"legal_basis\", \"scope\", \
\"dsa_ground\", \"evidence\": [{\"field\", \"start\", \"end\", \"text\", \"signal\"}]}], \"policy_version\", \
\"engine_version\", \"schema_version\"}. \
Evidence offsets are bytes into the original field text. A semantic signal's evidence is the \
title, with the nearest exemplar and the cosine similarity in `detail`.\n\n\
The semantic stage (on unless --no-semantic) compares listings that name a watched policy's \
candidate words with that policy's exemplars; without its model it says so once on stderr and \
screening is lexical only.\n\n\
Exit status: 0 every record was decided; 2 some records were invalid (reported on stderr as \
`line N: field F: …`) and every valid one was decided; 1 nothing could be done.")]
pub struct Args {
    #[command(flatten)]
    common: super::ScreenArgs,
}

/// Room for a decision without matches, most of the output, with its id.
const DECISION_LINE_BYTES: usize = 256;

pub fn run(args: Args) -> Result<u8> {
    super::screen_and_write(args.common, "screen", |gate, _, screened| {
        // Written into a buffer sized for a typical decision, so that the
        // line and its newline take one allocation, not two or three.
        let mut line = Vec::with_capacity(DECISION_LINE_BYTES);
        // Serialising a Decision cannot fail: plain strings and numbers.
        if gate.write_json(&screened.decision, &mut line).is_err() {
            line.clear();
        }
        line.push(b'\n');
        line
    })
}
