//! Outside programs that read untrusted files (ffmpeg for videos,
//! heif-convert for HEIF pictures): found once at start, then each run
//! with a time limit, an address-space limit, no environment, and, where
//! the kernel allows it, in a network namespace of its own with no
//! interface but loopback, so a crafted file cannot make them reach out.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::MediaError;

/// Which programs to run and the limits of each run (settings).
#[derive(Debug, Clone)]
pub struct MediaTools {
    pub ffmpeg: PathBuf,
    pub heif_convert: PathBuf,
    pub timeout: Duration,
    pub memory_bytes: u64,
}

/// One program as found at start.
#[derive(Debug, Clone)]
pub struct Tool {
    /// The program, or why it cannot be run here.
    found: Result<PathBuf, String>,
    timeout: Duration,
    memory_bytes: u64,
    /// Whether runs get a network namespace of their own.
    isolated: bool,
}

/// The programs this process can run.
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub ffmpeg: Tool,
    pub heif_convert: Tool,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    Missing(String),
    #[error("{program} took longer than {limit:?} and was stopped")]
    TimedOut { program: String, limit: Duration },
    #[error("{program} failed: {message}")]
    Failed { program: String, message: String },
    #[error("running {program}: {error}")]
    Io {
        program: String,
        error: std::io::Error,
    },
}

/// What a probe reads of a program's answer.
const PROBE_OUTPUT: usize = 64 * 1024;

/// Why a picture or video could not be rendered by an outside program.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The file itself: no retry helps.
    #[error("{0}")]
    Picture(MediaError),
    /// The program, or the machine around it.
    #[error("{0}")]
    Tool(ToolError),
    #[error("temporary file: {0}")]
    Io(std::io::Error),
}

impl From<ToolError> for RenderError {
    fn from(e: ToolError) -> Self {
        match e {
            // The program ran and refused or choked on the file.
            ToolError::Failed { .. } | ToolError::TimedOut { .. } => {
                RenderError::Picture(MediaError::Unreadable(e.to_string()))
            }
            e => RenderError::Tool(e),
        }
    }
}

/// `name` itself when it names a path, else its first match on PATH.
fn locate(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Toolbox {
    /// Finds the programs and checks that each runs (`-version`, `--help`),
    /// inside the sandbox when the kernel allows one.
    pub async fn probe(settings: &MediaTools) -> Toolbox {
        Toolbox {
            ffmpeg: Tool::probe(&settings.ffmpeg, &["-version"], None, settings).await,
            // Packaged libheif may come without its HEVC decoder (a plugin
            // package since 1.16): then it reads no HEIC at all.
            heif_convert: Tool::probe(
                &settings.heif_convert,
                &["--list-decoders"],
                Some("HEIC decoders:\n- "),
                settings,
            )
            .await,
        }
    }

    /// A toolbox with nothing in it: derivatives that need a program are
    /// not made.
    pub fn empty() -> Toolbox {
        let none = |name: &str| Tool {
            found: Err(format!("{name} is not configured")),
            timeout: Duration::ZERO,
            memory_bytes: 0,
            isolated: false,
        };
        Toolbox {
            ffmpeg: none("ffmpeg"),
            heif_convert: none("heif-convert"),
        }
    }
}

impl Tool {
    /// Finds `name` and runs it with `args`; when its answer must hold
    /// `needs` and does not, it is as good as missing.
    async fn probe(name: &Path, args: &[&str], needs: Option<&str>, settings: &MediaTools) -> Tool {
        let mut tool = Tool {
            found: Err(String::new()),
            timeout: settings.timeout,
            memory_bytes: settings.memory_bytes,
            isolated: true,
        };
        let Some(path) = locate(name) else {
            tool.found = Err(format!(
                "{} is not installed on this server",
                name.display()
            ));
            tracing::info!(program = %name.display(), "not found; its derivatives will not be made");
            return tool;
        };
        tool.found = Ok(path.clone());
        let args: Vec<OsString> = args.iter().map(Into::into).collect();
        // That it ran is what counts (an older release may not know the
        // option); an answer is checked when there is one.
        let ran = |r: &Result<Vec<u8>, ToolError>| !matches!(r, Err(ToolError::Io { .. }));
        let lacks = |r: &Result<Vec<u8>, ToolError>| match (r, needs) {
            (Ok(out), Some(text)) => !String::from_utf8_lossy(out).contains(text),
            _ => false,
        };
        let r = tool.run(&args, Path::new("/"), PROBE_OUTPUT).await;
        if ran(&r) && lacks(&r) {
            tracing::warn!(program = %path.display(), "has no HEIC decoder; its derivatives will not be made");
            tool.found = Err(format!(
                "{} has no HEIC decoder (install libheif's libde265 plugin)",
                path.display()
            ));
            return tool;
        }
        if ran(&r) {
            return tool;
        }
        tool.isolated = false;
        let r = tool.run(&args, Path::new("/"), PROBE_OUTPUT).await;
        if ran(&r) {
            tracing::warn!(
                program = %path.display(),
                "runs without a network namespace of its own (the kernel refused one); \
                 only its own options keep it off the network"
            );
        } else {
            let why = r.err().map(|e| e.to_string()).unwrap_or_default();
            tracing::warn!(program = %path.display(), error = %why, "cannot be run");
            tool.found = Err(format!("{} cannot be run: {why}", path.display()));
        }
        tool
    }

    /// Why the program cannot be run, if it cannot.
    pub fn missing(&self) -> Option<&str> {
        self.found.as_ref().err().map(String::as_str)
    }

    /// Runs the program with `args` in `dir`; its standard output, of at
    /// most `max_output` bytes, when it exits with success.
    pub async fn run(
        &self,
        args: &[OsString],
        dir: &Path,
        max_output: usize,
    ) -> Result<Vec<u8>, ToolError> {
        let path = self
            .found
            .as_ref()
            .map_err(|e| ToolError::Missing(e.clone()))?;
        let program = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut cmd = tokio::process::Command::new(path);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let memory = self.memory_bytes;
        let isolated = self.isolated;
        // SAFETY: between fork and exec only async-signal-safe calls are
        // made (setrlimit, unshare), touching no memory of the parent.
        unsafe {
            cmd.as_std_mut().pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: memory as libc::rlim_t,
                    rlim_max: memory as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                // No file it writes may be larger than its memory.
                libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                if isolated && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let io = |error| ToolError::Io {
            program: program.clone(),
            error,
        };
        let mut child = cmd.spawn().map_err(io)?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io(std::io::Error::other("no pipes to the program")));
        };
        let work = async {
            // Read both pipes to their ends (or their caps) while it runs,
            // so it never blocks on a full pipe.
            let (out, err) = tokio::join!(capped(stdout, max_output), capped(stderr, 64 * 1024));
            (out, err, child.wait().await)
        };
        let (out, err, status) = match tokio::time::timeout(self.timeout, work).await {
            Err(_) => {
                return Err(ToolError::TimedOut {
                    program,
                    limit: self.timeout,
                });
            }
            Ok(r) => r,
        };
        let (out, err, status) = (out.map_err(io)?, err.map_err(io)?, status.map_err(io)?);
        if out.len() > max_output {
            return Err(ToolError::Failed {
                program,
                message: format!("wrote more than {max_output} bytes"),
            });
        }
        if !status.success() {
            let stderr = String::from_utf8_lossy(&err);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            return Err(ToolError::Failed {
                program,
                message: match (last, status.code()) {
                    (Some(l), _) => l.trim().chars().take(300).collect(),
                    (None, Some(c)) => format!("exit status {c}"),
                    (None, None) => "stopped by a signal (out of memory?)".into(),
                },
            });
        }
        Ok(out)
    }
}

/// Up to `cap` + 1 bytes of a pipe, then the rest is read and dropped, so
/// the program can finish.
async fn capped(pipe: impl tokio::io::AsyncRead + Unpin, cap: usize) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let mut pipe = pipe;
    (&mut pipe)
        .take(cap as u64 + 1)
        .read_to_end(&mut kept)
        .await?;
    tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn shell(timeout: Duration, memory_bytes: u64) -> Tool {
        let settings = MediaTools {
            ffmpeg: "sh".into(),
            heif_convert: "sh".into(),
            timeout,
            memory_bytes,
        };
        Toolbox::probe(&settings).await.ffmpeg
    }

    fn args(script: &str) -> Vec<OsString> {
        vec!["-c".into(), script.into()]
    }

    #[tokio::test]
    async fn a_run_is_cut_off_from_the_network_the_clock_and_memory() {
        let tool = shell(Duration::from_secs(5), 256 << 20).await;
        assert_eq!(tool.missing(), None);
        let dir = Path::new("/");

        // Reaching a listening port on the host's loopback fails inside.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo reached");
        let bash = Tool {
            found: Ok(PathBuf::from("/bin/bash")),
            ..tool.clone()
        };
        let reached = bash.run(&args(&script), dir, 1024).await;
        let outside = Tool {
            isolated: false,
            ..bash.clone()
        };
        let out = outside.run(&args(&script), dir, 1024).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), "reached");
        if tool.isolated {
            assert!(
                matches!(reached, Err(ToolError::Failed { .. })),
                "{reached:?}"
            );
        } else {
            eprintln!("user namespaces are not allowed here: the network is not cut");
        }

        // More memory than allowed cannot be had; the same run with room
        // for it succeeds.
        let fill = args("python3 -c 'print(len(bytearray(400_000_000)))'");
        let big = bash.run(&fill, dir, 1024).await;
        assert!(matches!(big, Err(ToolError::Failed { .. })), "{big:?}");
        let roomy = Tool {
            memory_bytes: 4 << 30,
            ..bash.clone()
        };
        let out = roomy.run(&fill, dir, 1024).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), "400000000");

        // A run past its time is stopped.
        let slow = shell(Duration::from_millis(200), 256 << 20).await;
        let r = slow.run(&args("sleep 5"), dir, 1024).await;
        assert!(matches!(r, Err(ToolError::TimedOut { .. })), "{r:?}");

        // Output past its cap fails the run.
        let r = tool.run(&args("head -c 5000 /dev/zero"), dir, 1024).await;
        assert!(
            matches!(&r, Err(ToolError::Failed { message, .. }) if message.contains("more than 1024")),
            "{r:?}"
        );

        // No environment comes along.
        let out = tool
            .run(&args("echo ${HOME:-none}"), dir, 1024)
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), "none");
    }
}
