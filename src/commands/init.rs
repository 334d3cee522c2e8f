//! `rempart init`: create the database, its signing key and the live pack.

use anyhow::Result;

use super::store_args::StoreArgs;

#[derive(clap::Args)]
#[command(after_help = "Creates (or migrates) the database, writes the key file with a new Ed25519 \
signing key for the audit log (mode 0600; never overwritten), stores the embedded policy pack as the \
live one after running its tests, and signs the first tree head. Prints one JSON object: the schema \
version, the live pack version and the log's public key (vkey), which you give to whoever will \
verify the log. Running it again on an existing database only migrates it.\n\n\
Exit status: 0 done; 1 nothing could be done.")]
pub struct Args {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The log's name in signed heads (a C2SP checkpoint origin, e.g. `market.example/rempart`).
    #[arg(long, default_value = "rempart.local/log")]
    pub origin: String,
}

pub fn run(args: Args) -> Result<u8> {
    let report = rempart_server::init(&args.store.location(), &args.store.key_file()?, &args.origin)?;
    println!("{}", serde_json::to_string(&report)?);
    eprintln!(
        "rempart: database {} ready (schema {}), live pack {}; log key {}",
        args.store.location().display(),
        report.schema,
        report.pack_version,
        args.store.key_file()?.display()
    );
    Ok(crate::EXIT_OK)
}
