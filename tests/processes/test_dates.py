"""date_shift beyond its official examples: zones, leap seconds, fractions, clamping, errors."""

from __future__ import annotations

import pytest

from tests.graph_runner import evaluate
from executor_svc.processes import ProcessError
from executor_svc.processes.dates import parse_date, shift_date


def run(**arguments):
    return evaluate({"n": {"process_id": "date_shift", "arguments": arguments, "result": True}})


@pytest.mark.parametrize("text,value,unit,expected", [
    ("2021-03-31T23:30:00+02:00", 1, "hour", "2021-04-01T00:30:00+02:00"),  # the offset stays as given
    ("2021-03-31T00:00:00-05:30", -1, "minute", "2021-03-30T23:59:00-05:30"),
    ("2016-12-31T23:59:60Z", 0, "second", "2017-01-01T00:00:00Z"),  # a leap second is never returned
    ("2018-12-31T17:22:45.1234Z", 1, "millisecond", "2018-12-31T17:22:45.124Z"),
    ("2018-12-31T17:22:45.000Z", 0, "day", "2018-12-31T17:22:45Z"),
    ("2020-03-31", -1, "month", "2020-02-29"),
    ("2021-03-31", -1, "month", "2021-02-28"),
    ("2020-02-29", 4, "year", "2024-02-29"),
    ("2020-02-29", -1, "year", "2019-02-28"),
    ("2020-12-28", 1, "week", "2021-01-04"),
    ("2020-01-01", 90, "minute", "2020-01-01"),  # a date stays a date
    ("2020-01-01t10:00:00z", 1, "day", "2020-01-02T10:00:00Z"),
])
def test_shift(text, value, unit, expected):
    assert shift_date(text, value, unit) == expected
    assert run(date=text, value=value, unit=unit) == expected


def test_null_date_gives_null():
    assert run(date=None, value=1, unit="day") is None


@pytest.mark.parametrize("arguments,parameter", [
    ({"date": "31.03.2021", "value": 1, "unit": "day"}, "date"),
    ({"date": "2021-02-30", "value": 1, "unit": "day"}, "date"),
    ({"date": "2021-03-31T10:00:00", "value": 1, "unit": "day"}, "date"),  # a date-time needs its zone
    ({"date": "2021-03-31", "value": 1.5, "unit": "day"}, "value"),
    ({"date": "2021-03-31", "value": 1, "unit": "fortnight"}, "unit"),
    ({"date": "9999-12-31", "value": 1, "unit": "day"}, "date"),
])
def test_bad_arguments_are_process_parameter_invalid(arguments, parameter):
    with pytest.raises(ProcessError) as err:
        run(**arguments)
    assert err.value.code == "ProcessParameterInvalid" and repr(parameter) in err.value.message


def test_parse_keeps_the_form_and_zone():
    assert parse_date("2020-01-31")[1] is None
    assert parse_date("2020-01-31T00:00:00+01:00")[1] == "+01:00"
    assert parse_date("2020-01-31T00:00:00.5Z")[2] is True
