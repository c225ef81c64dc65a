"""Sentinel-1 processing options of `sar_backscatter` and what they cost (pure; sentinel-hub-api.md
§6.3 for the options, §2.6 for the PU factors)."""

from __future__ import annotations

from compiler_svc.problems import ProblemError, invalid

SAR_COEFFICIENTS = {"beta0": "BETA0", "sigma0-ellipsoid": "SIGMA0_ELLIPSOID", "gamma0-ellipsoid": "GAMMA0_ELLIPSOID",
                    "gamma0-terrain": "GAMMA0_TERRAIN"}
DEM_INSTANCES = {"mapzen": "MAPZEN", "copernicus": "COPERNICUS", "copernicus_30": "COPERNICUS_30",
                 "copernicus_90": "COPERNICUS_90"}
SAR_OPTIONS = ("orthorectify", "speckle_filter", "speckleFilter", "radiometricTerrainOversampling")


def sar_processing(spec: dict, node_id: str) -> dict:
    """Sentinel Hub `processing` of a sar_backscatter node (sentinel-hub-api.md §6.3)."""
    def bad(parameter: str, message: str):
        raise ProblemError(invalid("sar_backscatter", node_id, parameter, message))

    coeff = spec.get("coefficient", "gamma0-terrain")
    if coeff not in SAR_COEFFICIENTS:
        bad("coefficient", f"'{coeff}' is not available on Sentinel Hub (supported: {', '.join(SAR_COEFFICIENTS)})")
    dem = spec.get("elevation_model") or "COPERNICUS"
    if not isinstance(dem, str) or dem.lower() not in DEM_INSTANCES:
        bad("elevation_model", f"'{dem}' is not supported (supported: {', '.join(DEM_INSTANCES.values())})")
    if spec.get("noise_removal", True) is not True:
        bad("noise_removal", "Sentinel Hub always removes thermal noise")
    if spec.get("ellipsoid_incidence_angle"):
        bad("ellipsoid_incidence_angle", "not available on Sentinel Hub")
    options = spec.get("options") or {}
    if not isinstance(options, dict) or set(options) - set(SAR_OPTIONS):
        bad("options", f"supported options: {', '.join(SAR_OPTIONS)}")
    orthorectify = options.get("orthorectify", True)
    if not isinstance(orthorectify, bool):
        bad("options", "orthorectify must be true or false")
    if not orthorectify and (coeff == "gamma0-terrain" or spec.get("local_incidence_angle")):
        bad("options", "gamma0-terrain and the local incidence angle need orthorectify")
    if coeff != "gamma0-terrain" and (spec.get("mask") or spec.get("contributing_area")):
        bad("coefficient", "the shadow mask and the contributing area need the coefficient gamma0-terrain")
    processing = {"backCoeff": SAR_COEFFICIENTS[coeff], "orthorectify": orthorectify,
                  "demInstance": DEM_INSTANCES[dem.lower()]}
    speckle = options.get("speckle_filter", options.get("speckleFilter"))
    if speckle is not None:
        sizes_ok = all(isinstance(speckle.get(k), int) and 1 <= speckle[k] <= 7 for k in ("windowSizeX", "windowSizeY")) \
            if isinstance(speckle, dict) else False
        if not isinstance(speckle, dict) or speckle.get("type") not in ("NONE", "LEE") or (
                speckle.get("type") == "LEE" and not sizes_ok):
            bad("options", 'speckle_filter must be {"type": "NONE"} or {"type": "LEE", "windowSizeX": 1-7, "windowSizeY": 1-7}')
        if speckle.get("type") != "NONE":
            processing["speckleFilter"] = speckle
    if "radiometricTerrainOversampling" in options:
        value = options["radiometricTerrainOversampling"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            bad("options", "radiometricTerrainOversampling must be an integer from 1 to 4")
        processing["radiometricTerrainOversampling"] = value
    return processing


def s1_pu_factor(processing: dict) -> float:
    """Sentinel Hub's Sentinel-1 PU multiplier of these processing options (§2.6): x2.5 for radiometric
    terrain correction, else x2 for orthorectification; x2 more for a speckle filter."""
    factor = 2.5 if processing.get("backCoeff") == "GAMMA0_TERRAIN" else 2.0 if processing.get("orthorectify") else 1.0
    speckle = processing.get("speckleFilter")
    if isinstance(speckle, dict) and speckle.get("type", "NONE") != "NONE":
        factor *= 2
    return factor
