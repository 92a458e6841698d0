"""Special codes of the Census 2021 origin-destination tables: places that are no area, and the
place-of-work categories.

Area codes that are no area
---------------------------
ODMG01EW (migration) and ODWP01EW (commuting) hold, where an area code is expected:

``DOES_NOT_APPLY`` (``"-8"``)
    ODMG01EW origin: the person lived at the same address a year before (a non-mover).
    ODWP01EW workplace: the person is not in employment.
``OUTSIDE_UK`` (``"999999999"``)
    ODMG01EW origin: the person lived outside the UK a year before. ODWP01EW workplace:
    outside the UK.
``OFFSHORE`` (``"888888888"``)
    ODWP01EW workplace: an offshore installation.

Readers keep these rows; :mod:`migravity.geodata.flows` excludes them and counts them, and the
harmonisation reports never list them as unmatched codes.

Place-of-work indicator
-----------------------
ODWP01EW's ``category`` (place of work indicator, 4 categories): :data:`PLACE_OF_WORK`.
"""

from __future__ import annotations

import re

#: ``-8`` "Does not apply": a non-mover's origin (ODMG01EW), the workplace of a person not in employment (ODWP01EW).
DOES_NOT_APPLY = "-8"
#: ``999999999``: an origin (ODMG01EW) or workplace (ODWP01EW) outside the UK.
OUTSIDE_UK = "999999999"
#: ``888888888``: a workplace on an offshore installation (ODWP01EW).
OFFSHORE = "888888888"
#: ``111111111``: ODWP01EW at MSOA level, the workplace of those "mainly working at or from home, or no
#: fixed place" (the LTLA table's category 1; the workplace is not the home MSOA).
AT_HOME_OR_NO_FIXED_PLACE = "111111111"
#: Workplaces of the MSOA-level ODWP01EW that name no area.
MSOA_WORKPLACE_CODES: dict[str, str] = {
    AT_HOME_OR_NO_FIXED_PLACE: "mainly at or from home, or no fixed place",
    OFFSHORE: "offshore installation",
    OUTSIDE_UK: "outside the UK",
}
#: The codes in an area-code column that name no area.
NON_AREA_CODES: frozenset[str] = frozenset({DOES_NOT_APPLY, OUTSIDE_UK, OFFSHORE})

#: Place-of-work category: not in employment ("Does not apply").
NOT_IN_EMPLOYMENT = -8
#: Place-of-work category: mainly working at or from home (ONS: "Mainly working at or from home, No fixed place").
AT_HOME = 1
#: Place-of-work category: offshore installation or outside the UK.
OFFSHORE_OR_ABROAD = 2
#: Place-of-work category: working in the UK, not at or from home.
IN_UK = 3
#: ODWP01EW place-of-work categories and what they mean.
PLACE_OF_WORK: dict[int, str] = {
    NOT_IN_EMPLOYMENT: "not in employment",
    AT_HOME: "mainly at or from home",
    OFFSHORE_OR_ABROAD: "offshore or outside UK",
    IN_UK: "working in the UK, not at home",
}

#: A GSS area code as ONS documents it: the nation or UK-level letter (E, W, S, N, K) and eight digits,
#: e.g. ``E06000001``. Upper case, no spaces or quotes. Readers refuse any other code in an
#: area-code column unless the dataset documents it (:data:`NON_AREA_CODES`, and the few extra
#: codes each reader lists).
GSS_CODE = re.compile(r"[EWSNK]\d{8}")
#: Northern Ireland's 2011 local government districts in the Census 2011 UK tables (``95AA``...``95ZZ``).
NI_LGD_2011 = re.compile(r"95[A-Z]{2}")
#: ITL (International Territorial Levels) codes, e.g. ``TLC31``, in ONS Explore Local Statistics files.
ITL_CODE = re.compile(r"TL[A-Z0-9]{1,4}")
#: Destinations of the Census 2011 WU03UK long form that name no area.
COMMUTE2011_SPECIAL = frozenset({"WFH", "NOFIXED", "OFFSHORE", "OUTSIDEUK"})
