use clap::Parser;

// Many uploads at once allocate and free megabyte buffers on every thread;
// mimalloc returns that memory where glibc's allocator keeps it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
