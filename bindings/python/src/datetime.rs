//! `datetime.datetime` ⇄ `time::OffsetDateTime` through Python calls (the limited API has
//! no datetime C API). Only timezone-aware datetimes are accepted: a naive one is ambiguous.

use keyward::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

fn utc(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("datetime")?.getattr("timezone")?.getattr("utc")
}

/// A timezone-aware `datetime` as a UTC instant (microsecond precision).
pub fn to_offset(value: &Bound<'_, PyAny>) -> PyResult<OffsetDateTime> {
    let py = value.py();
    let datetime_type = py.import("datetime")?.getattr("datetime")?;
    if !value.is_instance(&datetime_type)? {
        return Err(PyTypeError::new_err("expires must be a datetime.datetime"));
    }
    if value.getattr("tzinfo")?.is_none() || value.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(
            "expires must be timezone-aware (e.g. datetime.now(timezone.utc))",
        ));
    }
    let at = value.call_method1("astimezone", (utc(py)?,))?;
    let field = |name: &str| -> PyResult<i64> { at.getattr(name)?.extract() };
    let invalid = |_| PyValueError::new_err("expires is outside the range keyward supports");
    let month = Month::try_from(u8::try_from(field("month")?).unwrap_or(0)).map_err(invalid)?;
    let date = Date::from_calendar_date(
        i32::try_from(field("year")?).unwrap_or(0),
        month,
        u8::try_from(field("day")?).unwrap_or(0),
    )
    .map_err(invalid)?;
    let time = Time::from_hms_micro(
        u8::try_from(field("hour")?).unwrap_or(0),
        u8::try_from(field("minute")?).unwrap_or(0),
        u8::try_from(field("second")?).unwrap_or(0),
        u32::try_from(field("microsecond")?).unwrap_or(0),
    )
    .map_err(invalid)?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// A UTC `datetime` (sub-microsecond digits are dropped).
pub fn from_offset(py: Python<'_>, at: OffsetDateTime) -> PyResult<Bound<'_, PyAny>> {
    let at = at.to_offset(keyward::time::UtcOffset::UTC);
    let datetime_type = py.import("datetime")?.getattr("datetime")?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("tzinfo", utc(py)?)?;
    datetime_type.call(
        (
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond(),
        ),
        Some(&kwargs),
    )
}
