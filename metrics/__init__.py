"""Metric plugins (installed as ``testbed.metrics``): PSNR, MS-SSIM, LPIPS, ST-LPIPS, ViTScore and SeSS.

Each is a :class:`~testbed.core.metric.Metric`; SeSS has its own package (``sess/``)."""
