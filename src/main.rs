//! The `trident` command line: parse, validate settings, dispatch. Nothing else.

use std::io::Read;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use trident::commands;
use trident::config::{ConfigError, RawSettings};
use trident::keys::SigningAlgorithm;

#[derive(Parser)]
#[command(
    name = "trident",
    version,
    about = "An authorization server for API keys, PATs and OAuth2 M2M tokens"
)]
struct Cli {
    #[command(flatten)]
    settings: RawSettings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints it as JSON.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// A role to grant; repeat for several.
        #[arg(long = "role", default_values_t = vec!["user".to_owned()])]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client for the client-credentials grant; prints client_id and client_secret as JSON.
    Create {
        #[arg(long)]
        name: String,
        /// A role to grant; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The client's access-token lifetime in seconds (default: TRIDENT_CLIENT_TOKEN_TTL).
        #[arg(long)]
        #[arg(long = "token-ttl", id = "client_token_ttl_override")]
        token_ttl: Option<i64>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key active; the old one stays published until its tokens expire.
    Rotate {
        /// The new key's algorithm (default: TRIDENT_SIGNING_ALGORITHM).
        #[arg(long)]
        algorithm: Option<SigningAlgorithm>,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin().take(4096).read_to_string(&mut input)?;
    Ok(input.trim_end_matches(['\r', '\n']).to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match ConfigError::from_clap(&e, &Cli::command()) {
            Some(refused) => {
                eprintln!("trident: invalid configuration: {refused}");
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    let settings = match cli.settings.validate() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("trident: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => commands::serve(settings).await,
        Command::Migrate => commands::migrate(settings).await,
        Command::User(UserCommand::Create {
            username, roles, ..
        }) => match read_password() {
            Ok(password) => commands::create_user(settings, &username, password, &roles).await,
            Err(e) => Err(e),
        },
        Command::Client(ClientCommand::Create {
            name,
            roles,
            token_ttl,
        }) => commands::create_client(settings, name, &roles, token_ttl).await,
        Command::Keys(KeysCommand::Rotate { algorithm }) => {
            commands::rotate_keys(settings, algorithm).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trident: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
