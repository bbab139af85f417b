"""Colorization (DeOldify's task): a U-Net that predicts chroma for grey photos, trained with
DeOldify's feature loss; `lesson7 colorize`. Import the modules you need (torch is heavy)."""
