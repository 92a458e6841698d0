"""The data registry: every dataset migravity reads, declared once.

Each :class:`Dataset` names its official publisher and source, its licence, the file name
it has in the data directory, the code vintage of its area codes, its SHA-256 checksum and
the loader (a function of :mod:`migravity.geodata.readers`) that parses and validates it.

``download_url`` is an address that serves exactly the registered bytes (checksum-verified);
where no such address exists (the publisher's file was converted, e.g. from R ``.rda`` or
reshaped), it is ``None`` and ``migravity data fetch`` says how to get the file: from the
publisher's ``landing_page`` or from a mirror given with ``--source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from migravity.errors import ConfigError

OGL = "Open Government Licence v3.0"

#: Area-code vintages the project understands (ONS LAD code sets by year of April/May release).
#: ``2011cm`` is the 2011 Census merged districts; ``2016m`` the 2016/17 codes with the City of
#: London merged into Westminster and the Isles of Scilly into Cornwall (as in Census outputs);
#: ``2016`` the same codes with both kept apart (as in the Census 2011 tables on Nomis).
Vintage = Literal["2011cm", "2016", "2016m", "2019", "2020", "2021", "2023", "2025", "mixed"]
VINTAGES: tuple[str, ...] = ("2011cm", "2016", "2016m", "2019", "2020", "2021", "2023", "2025", "mixed")

_GH = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Dataset:
    """One file migravity reads.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"odmg01ew"``.
    title : str
        Human-readable title.
    publisher : str
        The official publisher of the statistics.
    licence : str
        Licence of the data.
    landing_page : str
        The publisher's official page for the dataset.
    filename : str
        Path of the file relative to the data directory.
    sha256 : str
        SHA-256 of the registered file.
    vintage : str
        Code vintage of the area codes in the file (see :data:`VINTAGES`).
    coverage : str
        Nations covered (``"EW"``, ``"GB"``, ``"UK"``, ``"England"``...).
    reader : str
        Name of the loader function in :mod:`migravity.geodata.readers`.
    download_url : str or None
        An address that serves exactly these bytes, or ``None``.
    notes : str
        How the registered file was made from the publisher's release.
    """

    name: str
    title: str
    publisher: str
    licence: str
    landing_page: str
    filename: str
    sha256: str
    vintage: str
    coverage: str
    reader: str
    download_url: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if self.vintage not in VINTAGES:
            raise ConfigError(f"Dataset({self.name}).vintage", self.vintage,
                              "use one of " + ", ".join(VINTAGES))
        if len(self.sha256) != 64:
            raise ConfigError(f"Dataset({self.name}).sha256", self.sha256, "give 64 hex digits")


_CENSUS_OD = f"{_GH}/ONSvisual/census-od-data/5cb48cce2107e3bc8657d1818a252fc735fb0cef/input"
_ELS = f"{_GH}/ONSdigital/explore-local-statistics-data"
_OI = f"{_GH}/open-innovations/housing"
_CENSUS_OA = ("alexsingleton/Census_2021_Output_Areas output_data/parquet/{t}.parquet @fca63ca (Nomis bulk OA counts) "
              "summed to LAD 2021 with the derived OA lookup census2021/oa/oa21_lookup_derived.csv.gz; "
              "see census2021/PROVENANCE.md (cell-key perturbed; per-LAD error up to about 1%).")
_CENSUS11 = ("chrishanretty/euref_priors data/{t}.csv @75f95ab (a Nomis download, LAD 2016 codes) summed to "
             "LAD 2021 with the code chain (mergers only); see census2011/PROVENANCE.md.")
_CENSUS_OD_MAP = ("ONSvisual/census-od-map static/data/chunks/{t}_*.csv @4af2b7d concatenated, duplicate rows "
                  "dropped, LTLA rows left out, renamed origin,destination,count and gzipped; see flows/PROVENANCE.md "
                  "section 6 (cell-key perturbed; only non-zero flows).")
_CENSUS_OA_RAW = ("alexsingleton/Census_2021_Output_Areas output_data/parquet/{t}.parquet @fca63ca, byte for byte "
                  "(Nomis bulk OA counts, columns renamed tsNNN000k; counts stored as doubles); see "
                  "census2021/PROVENANCE.md (oa/).")
_GEOGRAPHR = "converted from humaniverse/geographr (R .rda) to {fmt}; original ONS Open Geography Portal"

DATASETS: tuple[Dataset, ...] = (
    # ---- boundaries -------------------------------------------------------------------------
    Dataset(
        name="admin_boundaries_bsc",
        title="UK administrative geographies 2014-2025 (LADs, combined authorities, regions...), super-generalised",
        publisher="Office for National Statistics (Open Geography Portal; ONSvisual uk-topojson)",
        licence=OGL + "; contains OS data (c) Crown copyright and database right",
        landing_page="https://github.com/ONSvisual/uk-topojson",
        filename="lad/boundaries/uk_admin_2014_2025_bsc.topojson.json",
        sha256="dc7062d094f5321bc2101a1287d15b4822edadb6432181d2063953ddcd573c8c",
        vintage="mixed", coverage="UK", reader="read_topojson",
        notes="ONSvisual/uk-topojson output/topo.json @b2fde50cb130908b897de10b65cdc392f9b4ff78: ONS BSC 2016 "
              "LAD geometries merged by ONS into later years' areas; objects ltla, utla, cty, cauth, rgn, ctry, "
              "mcty, uk, each area with optional start/end years. Scotland keeps the pre-2019 codes "
              "S12000044/S12000046 with no end year.",
    ),
    Dataset(
        name="lad_boundaries_2021",
        title="Local Authority Districts (December 2021) Boundaries UK BUC",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL + "; contains OS data (c) Crown copyright and database right",
        landing_page="https://geoportal.statistics.gov.uk/datasets/ons::local-authority-districts-december-2021-boundaries-uk-buc",
        filename="lad/boundaries/lad_2021_uk_buc.geojson",
        sha256="11402cc9c7cacda9bc2d9184d3ed477024c55053694c1fb06c0b769880fe2dc9",
        vintage="2021", coverage="UK", reader="read_boundaries",
        notes=_GEOGRAPHR.format(fmt="GeoJSON (EPSG:4326)"),
    ),
    Dataset(
        name="lad_boundaries_2024",
        title="Local Authority Districts (May 2024) Boundaries UK BUC (2023 codes)",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL + "; contains OS data (c) Crown copyright and database right",
        landing_page="https://geoportal.statistics.gov.uk/datasets/ons::local-authority-districts-may-2024-boundaries-uk-buc",
        filename="lad/boundaries/lad_2024_uk_buc.geojson",
        sha256="2ba57303fda882f5824948a7efaaa7c66d964e3369d69946bba0a9d68699ec7e",
        vintage="2023", coverage="UK", reader="read_boundaries",
        notes=_GEOGRAPHR.format(fmt="GeoJSON (EPSG:4326)") + ". 2024 codes equal 2023 codes.",
    ),
    # ---- flows --------------------------------------------------------------------------------
    Dataset(
        name="odmg01ew",
        title="Census 2021 ODMG01EW: migrants by LTLA one year ago and LTLA of usual residence",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/sources/census_2021_od",
        filename="flows/ODMG01EW_LTLA.csv.gz",
        sha256="0eecb9e99eb2939d201d279db88360111f652e7c824f6500cd34ff1208092a26",
        vintage="2021", coverage="EW", reader="read_odmg01ew",
        download_url=f"{_CENSUS_OD}/ODMG01EW_LTLA.csv.gz",
        notes="ONSvisual/census-od-data input/ODMG01EW_LTLA.csv.gz @5cb48cc (the ONS bulk table at LTLA level).",
    ),
    Dataset(
        name="odwp01ew",
        title="Census 2021 ODWP01EW: LTLA of usual residence by LTLA of workplace, place-of-work indicator",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/sources/census_2021_od",
        filename="flows/ODWP01EW_LTLA.csv.gz",
        sha256="096350090504c4472d4a8c3d7d3b9d22301503419b22fabc2c852f3b97bdf1c9",
        vintage="2021", coverage="EW", reader="read_odwp01ew",
        download_url=f"{_CENSUS_OD}/ODWP01EW_LTLA.csv.gz",
        notes="ONSvisual/census-od-data input/ODWP01EW_LTLA.csv.gz @5cb48cc.",
    ),
    Dataset(
        name="migration2011",
        title="Census 2011 MM01CUK_ALL: GB LAD-to-LAD migration (square matrix with distance)",
        publisher="Office for National Statistics / National Records of Scotland (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/mm01cuk",
        filename="flows/gb_census2011_migration_lad_simim.csv.gz",
        sha256="3bdde9fc8f672e19bd68af3c8fb9092ba829227274ce06cc98b8333e44c7da12",
        vintage="2016m", coverage="GB", reader="read_migration2011",
        download_url=f"{_GH}/nismod/simim/951e9356d95d114225a16ad24c74d531f7528057/tests/data/testdata.csv.gz",
        notes="nismod/simim tests/data/testdata.csv.gz: the Nomis MM01CUK_ALL flows on 2016/17 codes "
              "(City of London in Westminster, Scilly in Cornwall), zeros included.",
    ),
    Dataset(
        name="commute2011_matrix",
        title="Census 2011 WU03UK: usual residence by place of work, UK matrix by district name",
        publisher="ONS / NRS / NISRA (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/wu03uk",
        filename="flows/uk_census2011_commute_cmlad_matrix.csv.gz",
        sha256="9c1c20223d53e2830588adcce5555fae19e71809407050677ec40a78743d5345",
        vintage="2011cm", coverage="UK", reader="read_commute2011_matrix",
        notes="plibin-vub/uk-districts commute/uk.commute-matrix.csv, gzip-compressed.",
    ),
    Dataset(
        name="commute2011",
        title="Census 2011 WU03UK in long form with GSS codes (2011 census-merged districts)",
        publisher="ONS / NRS / NISRA (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/wu03uk",
        filename="flows/uk_census2011_commute_cmlad_od.csv.gz",
        sha256="980ed7293e28ace647ba197f2a703dabe1d6acdc2d8a2260e3056a885467efe2",
        vintage="2011cm", coverage="UK", reader="read_commute2011_od",
        notes="The WU03UK matrix reshaped to long form, codes from nismod/simim lad_nmcd_changes.csv.",
    ),
    # ---- MSOA level (Census 2021 geography; kept out of the shipped bundle) ------------------------
    Dataset(
        name="odmg01ew_msoa",
        title="Census 2021 ODMG01EW: migrants by MSOA one year ago and MSOA of usual residence (UK movers)",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/sources/census_2021_od",
        filename="flows/msoa/odmg01ew_msoa_od.csv.gz",
        sha256="2fc75d9b71a437f71c3b9931beab4af923084acbb20913745e7d65fca222b6f1",
        vintage="2021", coverage="EW", reader="read_od_msoa",
        notes=_CENSUS_OD_MAP.format(t="odmg01ew") + " Movers within the UK only (no -8 non-movers, no "
              "999999999 arrivals from abroad); origins also S02 (Scottish intermediate zones) and N09.",
    ),
    Dataset(
        name="odwp01ew_msoa",
        title="Census 2021 ODWP01EW: MSOA of usual residence by place of work (people in employment)",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/sources/census_2021_od",
        filename="flows/msoa/odwp01ew_msoa_od.csv.gz",
        sha256="b9518e78cf14344e50d9e4cae27f093a5409e3686b501573de64d0b267c8ae62",
        vintage="2021", coverage="EW", reader="read_od_msoa",
        notes=_CENSUS_OD_MAP.format(t="odwp01ew") + " Not-in-employment (-8) rows excluded; workplaces also "
              "S02, N09, 111111111 (mainly at or from home, or no fixed place), 888888888 (offshore), "
              "999999999 (outside the UK).",
    ),
    Dataset(
        name="msoa_boundaries_2021",
        title="Middle layer Super Output Areas (December 2021) Boundaries EW BSC",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL + "; contains OS data (c) Crown copyright and database right",
        landing_page="https://geoportal.statistics.gov.uk/search?q=MSOA_2021_EW_BSC",
        filename="flows/msoa/msoa21_ew_bsc.geojson.gz",
        sha256="dc4d8016ad6b2b61c86531aa18830169c1455963e645970b1221c3081c8a84a9",
        vintage="2021", coverage="EW", reader="read_msoa_boundaries",
        notes="lrowleyabel/Census-2021 Boundaries/2021/MSOA/Super Generalised/MSOA_2021_EW_BSC.shp @3ee06d6 "
              "reprojected EPSG:27700 -> EPSG:4326 (5 dp), properties MSOA21CD/MSOA21NM kept, GeoJSON gzipped; "
              "13 polygons are self-intersecting as published (repaired with buffer(0) on reading); see "
              "flows/PROVENANCE.md section 7.",
    ),
    Dataset(
        name="lookup_msoa21_lad21",
        title="MSOA (2021) to LAD (2021) lookup with names and land areas (ONS Standard Area Measurements)",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL,
        landing_page="https://geoportal.statistics.gov.uk/search?q=LUP_MSOA_LAD",
        filename="flows/msoa/msoa21_lookup_lad21_area.csv.gz",
        sha256="9b5af36df5d8e2691a65b62e9b89233dc9e9862a8726d23cafa5651ed080f45e",
        vintage="2021", coverage="EW", reader="read_msoa_lookup",
        notes="Joined from ONSvisual/census-od-map static/data/msoa21_metadata.csv and lad21_metadata.csv @4af2b7d "
              "(parent LAD), the BSC shapefile's dbf (names, polygon areas) and ONSvisual/geo-scripts "
              "config/lookups/lookup_area.ods @7fad814 (SAM extent and land areas); see flows/PROVENANCE.md section 8.",
    ),
    Dataset(
        name="census2021_ts019_msoa",
        title="Census 2021 TS019: migrant indicator (usual residents aged 1+), E&W MSOAs",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts019",
        filename="flows/msoa/census2021_ts019_migrant_indicator_msoa21.csv.gz",
        sha256="c96ff4c9e26c2b4ae6d54c1a2bf9889e2f55ab799abcea221741579d36224bad",
        vintage="2021", coverage="EW", reader="read_ts019_msoa",
        notes="humaniverse/demographr data/migration21_msoa21.rda @d041710 read with pyreadr, counts written as "
              "integers, gzipped.",
    ),
    Dataset(
        name="oa21_lookup",
        title="Output areas (2021): population-weighted centroids and LAD 2021 (derived lookup)",
        publisher="Office for National Statistics (Open Geography Portal; lookup derived, not official)",
        licence=OGL + "; contains OS data (c) Crown copyright and database right",
        landing_page="https://geoportal.statistics.gov.uk/search?q=PWC_OA_2021",
        filename="census2021/oa/oa21_lookup_derived.csv.gz",
        sha256="6051e6bdcdfdba50643d181f115cbbc7a88e4ed1484f51441ce2c19d41d0c3d4",
        vintage="2021", coverage="EW", reader="read_oa_lookup",
        notes="Derived: ONS OA (Dec 2021) population-weighted centroids from ONSvisual/geo-scripts "
              "input/centroids/oa21_pwc.json.gz @f417343, projected to EPSG:27700; LAD 2021 from the 2011 OA "
              "lookup (nismod/microsimulation) or point in LSOA polygon; see census2021/PROVENANCE.md (oa/).",
    ),
    Dataset(
        name="census2021_ts061_oa",
        title="Census 2021 TS061: method of travel to workplace (residents 16+ in employment), E&W output areas",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts061",
        filename="census2021/oa/ts061.parquet",
        sha256="3b65803c250ba6fd22c36d6c795126c2232aa68b64f14f99c37fb1e473212128",
        vintage="2021", coverage="EW", reader="read_oa_table",
        notes=_CENSUS_OA_RAW.format(t="ts061"),
    ),
    Dataset(
        name="census2021_ts062_oa",
        title="Census 2021 TS062: NS-SEC (all usual residents 16+), E&W output areas",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts062",
        filename="census2021/oa/ts062.parquet",
        sha256="16bc9ea159a4a8848bf8b485c6ae8754c4643ddf92218e1c7c97a4f0e61c8650",
        vintage="2021", coverage="EW", reader="read_oa_table",
        notes=_CENSUS_OA_RAW.format(t="ts062"),
    ),
    Dataset(
        name="census2021_ts063_oa",
        title="Census 2021 TS063: occupation, SOC 2020 major groups (residents 16+ in employment), E&W output areas",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts063",
        filename="census2021/oa/ts063.parquet",
        sha256="72889d7b2438d9f29950feaa8153ad492ef73794b62f9a3716a0544fb91d4d5a",
        vintage="2021", coverage="EW", reader="read_oa_table",
        notes=_CENSUS_OA_RAW.format(t="ts063"),
    ),
    Dataset(
        name="census2021_ts067_oa",
        title="Census 2021 TS067: highest level of qualification (residents 16+), E&W output areas",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts067",
        filename="census2021/oa/ts067.parquet",
        sha256="b213e400e655a20c676104da73f56738edb7c0820a0aa5161f6f1807c2ba9740",
        vintage="2021", coverage="EW", reader="read_oa_table",
        notes=_CENSUS_OA_RAW.format(t="ts067"),
    ),
    # ---- population ---------------------------------------------------------------------------
    Dataset(
        name="population_mye",
        title="Mid-year population estimates, all ages, 1991-2023 (2023 codes)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        filename="lad/population/mye_population_all_ages_1991_2023.csv",
        sha256="e9b82a5edb4d9c8539646264c5a06d6dccf6d83d9b0eed2e93e9c867ea284540",
        vintage="2023", coverage="UK", reader="read_geo_date_value",
        download_url=f"{_OI}/c051a5eac3ba0f73a378901700e1cc278af104da/data/population/standard/all_ages.csv",
        notes="open-innovations/housing data/population/standard/all_ages.csv (ONS MYE via Nomis).",
    ),
    Dataset(
        name="census2021_age",
        title="Census 2021 and 2011 population by broad age (and 2021 five-year age pyramid), E&W LADs",
        publisher="Office for National Statistics (Census 2021)",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/bulletins/populationandhouseholdestimatesenglandandwales/census2021",
        filename="lad/population/census2011_2021_lad21_broad_age.csv",
        sha256="c67889eebeca0ba296f51b1ed5932531f16bb83c25c49dd6df7ee3f850725298",
        vintage="2021", coverage="EW", reader="read_census2021_age",
        notes="Flattened from ONSvisual/census-population-scrolly static/data/place_data/*.json (rounded to 100).",
    ),
    Dataset(
        name="census2011_syoa",
        title="Census 2011 QS103EW: usual residents by single year of age, E&W LADs (2016 codes)",
        publisher="Office for National Statistics (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/qs103ew",
        filename="census2011/census2011_qs103ew_single_year_age_lad16.csv",
        sha256="3be85145b5c32fd0916a2e39209d3da1330470a5b031ffb97d7faa1cba01c1c7",
        vintage="2016", coverage="EW", reader="read_census2011_syoa",
        notes="chrishanretty/euref_priors data/QS103EW.csv @75f95ab (a Nomis download), renamed, unchanged.",
    ),
    Dataset(
        name="mye_syoa_mid2021",
        title="Mid-year estimates MYE2: population by sex and single year of age, mid-2021 (Census 2021 based)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        filename="lad/population/mye2_syoa_sex_mid2021_geog21.csv.gz",
        sha256="28082f269f4488a86e043db0d2ec37496601846d1b0557ddfd6904c9283bcc48",
        vintage="2021", coverage="UK", reader="read_mye_syoa",
        notes="gqlNU/wwprev inst/extdata/ukpopestimatesmid2021on2021geographyfinal.xls @50e2ff8, sheets "
              "'MYE2 - Males' and 'MYE2 - Females' stacked and turned long.",
    ),
    Dataset(
        name="mye_components_2002_2019",
        title="Mid-year estimates MYEB3: components of change, mid-2001 to mid-2019 (2019 edition)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        filename="lad/population/mye_components_lad20_2002_2019_myeb3_2019edition.csv.gz",
        sha256="9289c69200280e79bcd6c7bd5c6756f502c16bd76ae1faeb77fad70db073a6d0",
        vintage="2020", coverage="UK", reader="read_mye_components",
        notes="BenjaminIsaac0111/daedalus persistent_data/"
              "MYEB3_summary_components_of_change_series_UK_(2019_geog20).csv @90f1c39 reshaped wide -> long "
              "(one row per LAD and year); pre-Census-2021 series (not rebased).",
    ),
    Dataset(
        name="mye_components_2019_2020",
        title="Mid-year estimates MYE3: components of change, mid-2019 to mid-2020 (pre-Census-2021 series)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        filename="lad/population/mye3_components_mid2019_to_mid2020_geog21.csv",
        sha256="e99257e064c08da1cf93b324357827eb08d31787662edc190f954e3c4d245dc6",
        vintage="2021", coverage="UK", reader="read_mye3_components",
        notes="nujcharee/DSDA_Data ukpopestimatesmid2020on2021geography.xls @cbfe846, sheet MYE3, title rows "
              "dropped, headers renamed; LADs plus counties, regions and countries (column geography).",
    ),
    Dataset(
        name="mye_components_census2021_mid2021",
        title="Mid-year estimates MYE3a: components of change, Census day 2021 to mid-2021 (about 3 months)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        filename="lad/population/mye3a_components_census2021_to_mid2021_ew_geog21.csv",
        sha256="f24f37a74e0d6fd26f5fd5b438475c10606fceccb8d6a80dc824b9dec7203ae1",
        vintage="2021", coverage="UK", reader="read_mye3_components",
        notes="gqlNU/wwprev inst/extdata/ukpopestimatesmid2021on2021geographyfinal.xls @50e2ff8, sheet MYE3a, "
              "title rows dropped, headers renamed; England, Wales and Northern Ireland (no Scotland); "
              "international migration net only.",
    ),
    # ---- housing ------------------------------------------------------------------------------
    Dataset(
        name="house_prices",
        title="HPSSA dataset 9: median house prices, rolling year, quarterly (to Sep 2024)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/housing/datasets/medianhousepricefornationalandsubnationalgeographiesquarterlyrollingyearhpssadataset09",
        filename="lad/housing/hpssa_median_house_price_1995_2024.csv",
        sha256="fb220aed08b8f49b3f154b38ee5144699752b755aad2f2b1717acce0e4d2f9d5",
        vintage="2023", coverage="EW", reader="read_geo_date_value",
        download_url=f"{_OI}/8daf4a6a14608d3b59cd2d54a828e714dccf5e7b/data/house-prices/standard/median_house_prices.csv",
        notes="open-innovations/housing data/house-prices/standard/median_house_prices.csv.",
    ),
    Dataset(
        name="affordability",
        title="House price to residence-based earnings ratio (median), 2002-2025",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/housing/datasets/ratioofhousepricetoresidencebasedearningslowerquartileandmedian",
        filename="lad/housing/affordability_ratio_residence_2002_2025.csv",
        sha256="973d3aef791def803be89cc6e42125778efb6d0518321ae4cf4e14350bebff55",
        vintage="2025", coverage="EW", reader="read_els",
        download_url=f"{_ELS}/9c5950b593d00bfeec999365247e777867077bab/housing-affordability-ratio/housing-affordability-ratio.csv",
        notes="ONS Explore Local Statistics data repository.",
    ),
    # ---- earnings and skills ------------------------------------------------------------------
    Dataset(
        name="earnings",
        title="ASHE gross median weekly pay, residence-based, 2008-2025",
        publisher="Office for National Statistics (ASHE); NISRA for Northern Ireland",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/employmentandlabourmarket/peopleinwork/earningsandworkinghours/datasets/placeofresidencebylocalauthorityashetable8",
        filename="lad/earnings_skills/ashe_median_weekly_pay_residence_2008_2025.csv",
        sha256="285a76982afdfd38e9366535b43bf3e68c878ada7b819d722d2ec188c38eff17",
        vintage="2023", coverage="UK", reader="read_els",
        download_url=f"{_ELS}/4182826cddf63e6ca01414e4d19bc0c079d9387f/gross-median-weekly-pay/gross-median-weekly-pay.csv",
        notes="ONS Explore Local Statistics data repository.",
    ),
    Dataset(
        name="gdhi",
        title="Gross disposable household income per head, 1997-2023",
        publisher="Office for National Statistics (regional accounts)",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/economy/regionalaccounts/grossdisposablehouseholdincome/datasets/regionalgrossdisposablehouseholdincomelocalauthoritiesbyitl1region",
        filename="lad/earnings_skills/gdhi_per_head.csv",
        sha256="bdc0a5b12185dcf7669492cb4555559be74d4da0099c4b65692f0476e13da4a0",
        vintage="2023", coverage="UK", reader="read_els",
        download_url=f"{_ELS}/4182826cddf63e6ca01414e4d19bc0c079d9387f/gross-disposable-household-income-per-head/gross-disposable-household-income-per-head.csv",
        notes="ONS Explore Local Statistics data repository.",
    ),
    Dataset(
        name="qualifications",
        title="APS: % of people aged 16-64 with RQF level 3 or above, 2022-2023",
        publisher="Office for National Statistics (Annual Population Survey)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/apsnew",
        filename="lad/earnings_skills/aps_level3plus_qualifications_16_64.csv",
        sha256="dfb5e9312503c56c268459ff249edc6d61803886ae7cdb93b2b6a8ce4e70cad9",
        vintage="2023", coverage="GB", reader="read_els",
        download_url=f"{_ELS}/1dd9487365393afb7fd8db5f0545d3eb340d6305/qualifications-level-3-or-above/qualifications-level-3-or-above.csv",
        notes="ONS Explore Local Statistics data repository.",
    ),
    Dataset(
        name="travel_time",
        title="DfT Journey Time Statistics: average minutes to the nearest employment centre",
        publisher="Department for Transport",
        licence=OGL,
        landing_page="https://www.gov.uk/government/statistical-data-sets/journey-time-statistics-data-tables-jts",
        filename="lad/earnings_skills/travel_time_to_employment_centres.csv",
        sha256="da716822ac407f0dd51c051df3b336341be3e9dd9f3cf581b47eb1123259000e",
        vintage="2019", coverage="England", reader="read_els",
        download_url=f"{_ELS}/4182826cddf63e6ca01414e4d19bc0c079d9387f/average-travel-time/average-travel-time.csv",
        notes="ONS Explore Local Statistics data repository.",
    ),
    # ---- Census skills and working from home (LAD 2021 codes) ---------------------------------
    Dataset(
        name="census2021_ts061",
        title="Census 2021 TS061: method of travel to workplace (residents 16+ in employment), E&W LADs",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts061",
        filename="census2021/ts061_travel_to_work_lad21.csv",
        sha256="62629fce38a95cd34426dfdff56b79d03ef08402000137113ed67acc2f6a8911",
        vintage="2021", coverage="EW", reader="read_ts061",
        notes=_CENSUS_OA.format(t="ts061"),
    ),
    Dataset(
        name="census2021_ts062",
        title="Census 2021 TS062: NS-SEC (all usual residents 16+), E&W LADs",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts062",
        filename="census2021/ts062_nssec_lad21.csv",
        sha256="56ae6602e1580a57db89a7ac546a7a222def2a7c5b5c37a6ef6bb1ef14d280e1",
        vintage="2021", coverage="EW", reader="read_ts062",
        notes=_CENSUS_OA.format(t="ts062"),
    ),
    Dataset(
        name="census2021_ts063",
        title="Census 2021 TS063: occupation, SOC 2020 major groups (residents 16+ in employment), E&W LADs",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts063",
        filename="census2021/ts063_occupation_lad21.csv",
        sha256="25daae48ee86fbd3daa09ea093112f16ae833b2551940c3cadd1db102975cf98",
        vintage="2021", coverage="EW", reader="read_ts063",
        notes=_CENSUS_OA.format(t="ts063"),
    ),
    Dataset(
        name="census2021_ts067",
        title="Census 2021 TS067: highest level of qualification (residents 16+), E&W LADs",
        publisher="Office for National Statistics (Census 2021, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/datasets/c2021ts067",
        filename="census2021/ts067_qualifications_lad21.csv",
        sha256="34949756ab302a1d4b0ecfbea76c04b8de9f02d3bbfdedcfe228ba1f2d7c8625",
        vintage="2021", coverage="EW", reader="read_ts067",
        notes=_CENSUS_OA.format(t="ts067"),
    ),
    Dataset(
        name="census2011_qs606",
        title="Census 2011 QS606EW: occupation, SOC 2010 major groups (residents 16-74 in employment), E&W LADs",
        publisher="Office for National Statistics (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/qs606ew",
        filename="census2011/census2011_qs606ew_occupation_major_lad21.csv",
        sha256="faeea438e72335c653f23758162c15cb36f4086fac949e85efd7b48e8e2f56d7",
        vintage="2021", coverage="EW", reader="read_qs606",
        notes="jtrim-ons/census-2011-data QS606EW LAD 2020 rows @4350a70 (best-fit LSOA sums), LAD 2020 -> 2021 "
              "by the code chain (Northamptonshire merged); see census2011/PROVENANCE.md.",
    ),
    Dataset(
        name="census2011_qs607",
        title="Census 2011 QS607EW: NS-SEC (usual residents 16-74), E&W LADs",
        publisher="Office for National Statistics (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/qs607ew",
        filename="census2011/census2011_qs607ew_nssec_lad21.csv",
        sha256="faaa9cbcbe5198b670d8b40da014ed3ff17f326d415a9aa06c7fa20f9c5355b1",
        vintage="2021", coverage="EW", reader="read_qs607",
        notes=_CENSUS11.format(t="QS607EW"),
    ),
    Dataset(
        name="census2011_qs501",
        title="Census 2011 QS501EW: highest level of qualification (usual residents 16+), E&W LADs",
        publisher="Office for National Statistics (Census 2011, Nomis)",
        licence=OGL,
        landing_page="https://www.nomisweb.co.uk/census/2011/qs501ew",
        filename="census2011/census2011_qs501ew_quals_lad21.csv",
        sha256="5b2c4827809f75e812f53c5fa7218135ecb3d51f949ae518acc96aa458a11da1",
        vintage="2021", coverage="EW", reader="read_qs501",
        notes=_CENSUS11.format(t="QS501EW"),
    ),
    # ---- deprivation and classifications --------------------------------------------------------
    Dataset(
        name="imd2019_england_ltla19",
        title="English Indices of Deprivation 2019: local authority summaries (2019 codes)",
        publisher="Ministry of Housing, Communities and Local Government",
        licence=OGL,
        landing_page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        filename="lad/deprivation_classification/imd2019_england_ltla19.csv",
        sha256="0f1078f1b59cbb6a09a5aeaaeed71b12bc3efef43d848235aac61cc7a22910ff",
        vintage="2019", coverage="England", reader="read_imd",
        notes="humaniverse/IMD data/imd2019_england_ltla19.rda converted to CSV.",
    ),
    Dataset(
        name="imd2019_england_ltla23",
        title="English Indices of Deprivation 2019 re-aggregated from LSOAs to 2023 LADs",
        publisher="Ministry of Housing, Communities and Local Government (aggregation: humaniverse)",
        licence=OGL,
        landing_page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        filename="lad/deprivation_classification/imd2019_england_ltla23.csv",
        sha256="5193eaeee07f20e77c7245de996773a435189b388d751f0acb89dc2692f2c13c",
        vintage="2023", coverage="England", reader="read_imd",
        notes="humaniverse/IMD data/imd2019_england_ltla23.rda converted to CSV (population-weighted LSOA scores).",
    ),
    Dataset(
        name="wimd2019",
        title="Welsh Index of Multiple Deprivation 2019, aggregated to local authorities",
        publisher="Welsh Government (aggregation: humaniverse)",
        licence=OGL,
        landing_page="https://www.gov.wales/welsh-index-multiple-deprivation-full-index-update-ranks-2019",
        filename="lad/deprivation_classification/imd2019_wales_ltla22.csv",
        sha256="fe286f4740643172c51ad6ea7b9edd103c3cd810cef8d9ca5efbd8fafa9bbad8",
        vintage="2021", coverage="Wales", reader="read_imd",
        notes="humaniverse/IMD data/imd2019_wales_ltla22.rda converted to CSV (2022 codes = 2021 codes in Wales).",
    ),
    Dataset(
        name="simd2020",
        title="Scottish Index of Multiple Deprivation 2020v2: council area proportion and extent",
        publisher="Scottish Government (aggregation: humaniverse)",
        licence=OGL,
        landing_page="https://www.gov.scot/collections/scottish-index-of-multiple-deprivation-2020/",
        filename="lad/deprivation_classification/imd2020_scotland_ltla24.csv",
        sha256="cd23fedcbdbb432f22c6ea7ae64670574686d01d371201ff30168e179524e626",
        vintage="2023", coverage="Scotland", reader="read_imd",
        notes="humaniverse/IMD data/imd2020_scotland_ltla24.rda converted to CSV.",
    ),
    Dataset(
        name="imd2025_england",
        title="English Indices of Deprivation 2025: local authority summaries (2024 codes)",
        publisher="Ministry of Housing, Communities and Local Government",
        licence=OGL,
        landing_page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        filename="lad/deprivation_classification/imd2025_england_ltla24.csv",
        sha256="395355dfb420037851dbfdb1aa8498d957665f54baedca5078d98cad2f51b045",
        vintage="2023", coverage="England", reader="read_imd",
        notes="humaniverse/IMD data/imd2025_england_ltla24.rda converted to CSV.",
    ),
    Dataset(
        name="la_clusters",
        title="ONS local authority clusters (Explore local statistics): Global, Economic, Demographic",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/explore-local-statistics/",
        filename="lad/deprivation_classification/ons_la_clusters_allocation.csv",
        sha256="4746102f32710d9f3c95ece14c4d1f4f25e5638adee65fc92f7df7c63754a144",
        vintage="2025", coverage="UK", reader="read_la_clusters",
        download_url=f"{_GH}/ONSdigital/explore-local-statistics-app/99fc2df3b9d0884cb6a234aa85e5c7549e89dc68/scripts/config/clusters/cluster-allocation.csv",
        notes="ONSdigital/explore-local-statistics-app scripts/config/clusters/cluster-allocation.csv.",
    ),
    # ---- projections --------------------------------------------------------------------------
    Dataset(
        name="snpp2018",
        title="Subnational population projections for England, 2018-based principal, persons all ages, "
              "2018-2043 (2023 codes)",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections/datasets/localauthoritiesinenglandtable2",
        filename="projections/snpp2018_principal_persons_allages_lad23.csv",
        sha256="5c51872cebb86792ef79e818b0616fe9059ce2c9f55218d940455c8b354e858b",
        vintage="2023", coverage="England", reader="read_snpp_wide",
        notes="drserajames/covid-local-epi data/ons_pop.csv @740d210 (ONS Table 2, sheet Persons): All ages "
              "rows of the 326 LAD-2018 areas mapped to 2023 codes with the ONS code chain and summed.",
    ),
    # ---- lookups ------------------------------------------------------------------------------
    Dataset(
        name="lookup_ltla21_region21",
        title="LAD (2021) to region (2021) lookup, England",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL,
        landing_page="https://geoportal.statistics.gov.uk/search?q=LUP_LAD_RGN",
        filename="lad/lookups/lookup_ltla21_region21.csv",
        sha256="a92bc294c2f2c1a2c27a8e37c3a787bf030228df002998ecbf9ea348d2e7dfdf",
        vintage="2021", coverage="England", reader="read_lookup",
        notes=_GEOGRAPHR.format(fmt="CSV"),
    ),
    Dataset(
        name="lookup_ltla23_region23",
        title="LAD (2023) to region (2023) lookup, England",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL,
        landing_page="https://geoportal.statistics.gov.uk/search?q=LUP_LAD_RGN",
        filename="lad/lookups/lookup_ltla23_region23.csv",
        sha256="b0c2e47b2b820af956d72db9f0284e4efd948403e437be9b3f87d1fdc3630bc6",
        vintage="2023", coverage="England", reader="read_lookup",
        notes=_GEOGRAPHR.format(fmt="CSV"),
    ),
    Dataset(
        name="lookup_ltla22_ltla23",
        title="LAD (2022) to LAD (2023) lookup, UK",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL,
        landing_page="https://geoportal.statistics.gov.uk/search?q=LUP_LAD_2022_LAD_2023",
        filename="lad/lookups/lookup_ltla22_ltla23.csv",
        sha256="ad81a0b79076765a8bb0ad18cc3d2a7f5c4f97c8d6f32f926c9ee3f8a0af4dea",
        vintage="2021", coverage="UK", reader="read_lookup",
        notes=_GEOGRAPHR.format(fmt="CSV") + " 2022 codes equal 2021 codes.",
    ),
    Dataset(
        name="lookup_ltla_chain",
        title="LAD code chain 2016 to 2024, UK",
        publisher="Office for National Statistics (Open Geography Portal)",
        licence=OGL,
        landing_page="https://geoportal.statistics.gov.uk/",
        filename="lad/lookups/lookup_ltla16_to_ltla24_chain.csv",
        sha256="63a60b5ccb83d5ded50cdeea7d59b3a2db6c0b36ea5ead7ce6b1ad5e263f7366",
        vintage="mixed", coverage="UK", reader="read_lookup",
        notes=_GEOGRAPHR.format(fmt="CSV"),
    ),
    Dataset(
        name="ruc2021",
        title="Rural-urban classification 2021 for LADs (2024 codes), England and Wales",
        publisher="Office for National Statistics",
        licence=OGL,
        landing_page="https://www.ons.gov.uk/methodology/geography/geographicalproducts/ruralurbanclassifications",
        filename="lad/lookups/ruc21_ltla24.csv",
        sha256="8e29241dbd2543bb284e3df214b134c1369f06861e599a9b17a1e8666c942011",
        vintage="2023", coverage="EW", reader="read_lookup",
        notes=_GEOGRAPHR.format(fmt="CSV"),
    ),
)

REGISTRY: dict[str, Dataset] = {d.name: d for d in DATASETS}


def get(name: str) -> Dataset:
    """Return the registered dataset called ``name``.

    Raises
    ------
    ConfigError
        If no dataset of that name is registered.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError("dataset", name, "use one of " + ", ".join(sorted(REGISTRY))) from None
