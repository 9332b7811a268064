use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = ducha::cli::Cli::parse();
    match ducha::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ducha: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
