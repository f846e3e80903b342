//! Durations as Terraform users write them (`30s`, `5m`, `1h30m`, `500ms`), for time-outs,
//! `request_timeout` and `running_longer_than`.

use std::time::Duration;

/// A positive duration such as `30s`, `5m`, `1h30m` or `500ms`; the error says why not.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|error| error.to_string())?;
    if duration.is_zero() {
        return Err("it must be longer than zero".to_string());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_terraform_users_write_them() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 3s "), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("-3s").is_err());
    }
}
