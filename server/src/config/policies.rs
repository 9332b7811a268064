//! The rules the server's work follows: limits of uploads, the programs
//! that make derivatives, the thresholds of authenticity signals, petition
//! deadlines, and background jobs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use super::{delta, duration, nonzero, positive};
use crate::domain::derivative::MAX_NEAR_DISTANCE;
use crate::domain::evidence::UploadLimits;
use crate::domain::signals::SignalPolicy;
use crate::media::tool::MediaTools;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Uploads")]
pub struct UploadSettings {
    /// Largest evidence file accepted, in bytes
    #[arg(long, env = "DUCHA_UPLOAD_MAX_BYTES", default_value = "52428800")]
    pub upload_max_bytes: i64,
    /// Largest video accepted, in bytes
    #[arg(
        long,
        env = "DUCHA_UPLOAD_MAX_VIDEO_BYTES",
        default_value = "524288000"
    )]
    pub upload_max_video_bytes: i64,
    /// Largest chunk of an upload in one message, in bytes
    #[arg(long, env = "DUCHA_UPLOAD_CHUNK_BYTES", default_value = "4194304")]
    pub upload_chunk_bytes: i64,
    /// Unfinished uploads one user may have open at once
    #[arg(long, env = "DUCHA_UPLOADS_OPEN_PER_USER", default_value = "20")]
    pub uploads_open_per_user: i64,
    /// Time an upload may stay unfinished before it is cleaned up
    #[arg(long, env = "DUCHA_UPLOAD_TTL", default_value = "7d", value_parser = duration)]
    pub upload_ttl: Duration,
}

impl UploadSettings {
    pub fn resolve(&self) -> anyhow::Result<UploadLimits> {
        Ok(UploadLimits {
            max_file_bytes: positive("upload_max_bytes", self.upload_max_bytes)?,
            max_video_bytes: positive("upload_max_video_bytes", self.upload_max_video_bytes)?,
            max_chunk_bytes: positive("upload_chunk_bytes", self.upload_chunk_bytes)?,
            max_open_per_user: positive("uploads_open_per_user", self.uploads_open_per_user)?,
            ttl: self.upload_ttl,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Media tools")]
pub struct MediaSettings {
    /// Program that makes a video's poster frame and thumbnail; videos get
    /// no derivatives when it cannot be run
    #[arg(long, env = "DUCHA_FFMPEG", default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,
    /// Program that decodes HEIC/HEIF pictures for their derivatives
    /// (libheif's heif-convert); HEIF pictures get none when it cannot be
    /// run
    #[arg(long, env = "DUCHA_HEIF_CONVERT", default_value = "heif-convert")]
    pub heif_convert: PathBuf,
    /// The longest one run of ffmpeg or heif-convert may take
    #[arg(long, env = "DUCHA_MEDIA_TOOL_TIMEOUT", default_value = "2m", value_parser = duration)]
    pub media_tool_timeout: Duration,
    /// Address space one run of ffmpeg or heif-convert may use, in bytes
    /// (at least 67108864)
    #[arg(
        long,
        env = "DUCHA_MEDIA_TOOL_MEMORY_BYTES",
        default_value = "2147483648"
    )]
    pub media_tool_memory_bytes: u64,
}

impl MediaSettings {
    pub fn resolve(&self) -> anyhow::Result<MediaTools> {
        Ok(MediaTools {
            ffmpeg: self.ffmpeg.clone(),
            heif_convert: self.heif_convert.clone(),
            timeout: nonzero(self.media_tool_timeout, "media_tool_timeout")?,
            memory_bytes: match self.media_tool_memory_bytes {
                n if n >= 64 << 20 => n,
                n => bail!("media_tool_memory_bytes: at least 67108864, got {n}"),
            },
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Signals")]
pub struct SignalSettings {
    /// A photo farther than this from its check's location is flagged, in
    /// metres
    #[arg(long, env = "DUCHA_SIGNAL_DISTANCE_M", default_value = "500")]
    pub signal_distance_m: f64,
    /// Slack around a check's time window before a photo is flagged as
    /// taken outside it
    #[arg(long, env = "DUCHA_SIGNAL_TIME_TOLERANCE", default_value = "30m", value_parser = duration)]
    pub signal_time_tolerance: Duration,
    /// Largest accepted difference between EXIF time and the phone's clock
    #[arg(long, env = "DUCHA_SIGNAL_CLOCK_SKEW", default_value = "10m", value_parser = duration)]
    pub signal_clock_skew: Duration,
    /// Pictures whose 64-bit perceptual hashes differ in at most this many
    /// bits are near-identical (0 to 7)
    #[arg(long, env = "DUCHA_SIGNAL_NEAR_DISTANCE", default_value = "5")]
    pub signal_near_distance: u32,
}

impl SignalSettings {
    pub fn resolve(&self) -> anyhow::Result<SignalPolicy> {
        Ok(SignalPolicy {
            max_distance_m: match self.signal_distance_m {
                d if d.is_finite() && d > 0.0 => d,
                d => bail!("signal_distance_m: must be positive, got {d}"),
            },
            time_tolerance: delta(self.signal_time_tolerance),
            max_clock_skew: delta(self.signal_clock_skew),
            max_near_distance: match self.signal_near_distance {
                d if d <= MAX_NEAR_DISTANCE => d,
                d => bail!("signal_near_distance: must be 0 to {MAX_NEAR_DISTANCE}, got {d}"),
            },
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Petitions")]
pub struct PetitionSettings {
    /// Working days a petition officer has to accept or decline a new
    /// petition
    #[arg(long, env = "DUCHA_PETITION_ACCEPT_DAYS", default_value = "2")]
    pub petition_accept_days: u32,
    /// Days a unit has to reply to a dispatched petition, unless the
    /// dispatch names a date
    #[arg(long, env = "DUCHA_PETITION_REPLY_DAYS", default_value = "30")]
    pub petition_reply_days: u32,
    /// A new petition this close to an open one, in metres, is suggested
    /// as a possible repeat
    #[arg(long, env = "DUCHA_PETITION_REPEAT_DISTANCE_M", default_value = "300")]
    pub petition_repeat_distance_m: f64,
}

/// Deadlines and repeat detection of petitions.
#[derive(Debug, Clone, Copy)]
pub struct PetitionPolicy {
    /// Working days to accept or decline.
    pub accept_days: u32,
    /// Days to reply, unless the dispatch names a date.
    pub reply_days: u32,
    pub repeat_distance_m: f64,
}

impl PetitionSettings {
    pub fn resolve(&self) -> anyhow::Result<PetitionPolicy> {
        Ok(PetitionPolicy {
            accept_days: match self.petition_accept_days {
                0 => bail!("petition_accept_days: must be at least 1"),
                n => n,
            },
            reply_days: match self.petition_reply_days {
                0 => bail!("petition_reply_days: must be at least 1"),
                n => n,
            },
            repeat_distance_m: match self.petition_repeat_distance_m {
                d if d.is_finite() && d >= 0.0 => d,
                d => bail!("petition_repeat_distance_m: must be zero or positive, got {d}"),
            },
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Background jobs")]
pub struct JobSettings {
    /// Derivative jobs this process runs at once; 0 leaves them to other
    /// processes; half the CPUs, at least 1, when unset
    #[arg(long, env = "DUCHA_DERIVATIVE_WORKERS")]
    pub derivative_workers: Option<usize>,
    /// Attempts at a background job before its failure is recorded
    #[arg(long, env = "DUCHA_JOB_MAX_ATTEMPTS", default_value = "5")]
    pub job_max_attempts: u32,
    /// Wait before a failed background job is tried again, doubling with
    /// each attempt up to an hour
    #[arg(long, env = "DUCHA_JOB_RETRY_DELAY", default_value = "30s", value_parser = duration)]
    pub job_retry_delay: Duration,
    /// How often this process looks for rectification items gone overdue
    /// (every replica may; each item is escalated once)
    #[arg(long, env = "DUCHA_OVERDUE_SCAN_INTERVAL", default_value = "5m", value_parser = duration)]
    pub overdue_scan_interval: Duration,
    /// How often this process removes expired uploads and their bytes
    #[arg(long, env = "DUCHA_UPLOAD_SWEEP_INTERVAL", default_value = "1m", value_parser = duration)]
    pub upload_sweep_interval: Duration,
}

/// How background jobs run.
#[derive(Debug, Clone, Copy)]
pub struct JobPolicy {
    /// Derivative jobs this process runs at once; 0 runs none.
    pub derivative_workers: usize,
    pub max_attempts: u32,
    /// Wait after the first failure; doubles with each.
    pub retry_delay: Duration,
    pub overdue_scan_interval: Duration,
    /// How often expired uploads and their bytes are removed.
    pub upload_sweep_interval: Duration,
}

impl JobSettings {
    pub fn resolve(&self) -> anyhow::Result<JobPolicy> {
        Ok(JobPolicy {
            // Half the cores: the other half stays with the calls.
            derivative_workers: self.derivative_workers.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
            }),
            max_attempts: match self.job_max_attempts {
                0 => bail!("job_max_attempts: must be at least 1"),
                n => n,
            },
            retry_delay: self.job_retry_delay,
            overdue_scan_interval: nonzero(self.overdue_scan_interval, "overdue_scan_interval")?,
            upload_sweep_interval: nonzero(self.upload_sweep_interval, "upload_sweep_interval")?,
        })
    }
}
