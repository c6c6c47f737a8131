"""Feature-hierarchy inspection of a U-Net: what each stage sees.

The job ``facies inspect`` and notebooks use the same functions:

- :func:`unet_stages`, :func:`capture`: the stages and their activations (forward hooks);
- :func:`unet_receptive_fields`, :func:`through`: theoretical receptive fields;
- :func:`effective_fields`: receptive fields measured from input gradients;
- :func:`spectral_centroid`: spatial-frequency content of activations;
- :func:`fit_probe`: linear separability of the facies in a stage's features;
- :func:`inspect_network`, :func:`inspect_checkpoint`: all of it, per stage, with an
  untrained control; :func:`write_report`: Markdown, JSON and figures.
"""

from facies.inspection.data import (
    InspectionData,
    Sections,
    cut_sections,
    inspection_data,
    parse_section,
)
from facies.inspection.effective_field import EffectiveField, effective_fields, mass_width
from facies.inspection.hierarchy import (
    Inspection,
    NetworkInspection,
    StageResult,
    control_network,
    inspect_checkpoint,
    inspect_network,
)
from facies.inspection.probe import ProbeResult, features_at, fit_probe, sample_pixels
from facies.inspection.receptive_field import ReceptiveField, through, unet_receptive_fields
from facies.inspection.report import write_report
from facies.inspection.spectra import SpectralCentroid, power_spectrum, spectral_centroid
from facies.inspection.stages import Stage, capture, capture_with_grad, unet_stages

__all__ = [
    "EffectiveField",
    "Inspection",
    "InspectionData",
    "NetworkInspection",
    "ProbeResult",
    "ReceptiveField",
    "Sections",
    "SpectralCentroid",
    "Stage",
    "StageResult",
    "capture",
    "capture_with_grad",
    "control_network",
    "cut_sections",
    "effective_fields",
    "features_at",
    "fit_probe",
    "inspect_checkpoint",
    "inspect_network",
    "inspection_data",
    "mass_width",
    "parse_section",
    "power_spectrum",
    "sample_pixels",
    "spectral_centroid",
    "through",
    "unet_receptive_fields",
    "unet_stages",
    "write_report",
]
