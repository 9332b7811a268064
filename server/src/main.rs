// Many uploads at once allocate and free megabyte buffers on every thread;
// mimalloc returns that memory where glibc's allocator keeps it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives freed memory back to the system at once. By default mimalloc
/// keeps it for 10 ms per thread (100 ms per arena), and with dozens of
/// uploads and derivative jobs freeing megabyte buffers on many threads,
/// what it keeps adds up: measured, a peak of 335 MiB instead of 180 MiB
/// (BENCHMARKS.md).
fn return_freed_memory_at_once() {
    // Positions in mimalloc v2's `mi_option_e` (mimalloc.h), which the
    // sys crate does not name: arena_eager_commit is 4, purge_delay 15.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store mimalloc allows at any
    // time; both options only change when memory is committed or purged.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

fn main() -> std::process::ExitCode {
    return_freed_memory_at_once();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run())
}

async fn run() -> std::process::ExitCode {
    let cli = match ducha::cli::Cli::parse_with_file(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => match e.downcast::<clap::Error>() {
            Ok(e) => e.exit(),
            Err(e) => {
                eprintln!("ducha: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    match ducha::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ducha: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
