/* perceptcl: every public header at once. Each area also has its own header
 * (status, device, ssim, loss, image, ...), which is all most programs need. */
#ifndef PERCEPTCL_PERCEPTCL_H
#define PERCEPTCL_PERCEPTCL_H

#include "perceptcl/status.h"
#include "perceptcl/device.h"
#include "perceptcl/ssim.h"
#include "perceptcl/loss.h"
#include "perceptcl/mmd.h"
#include "perceptcl/image.h"
#include "perceptcl/color.h"
#include "perceptcl/resize.h"
#include "perceptcl/sr.h"
#include "perceptcl/datasets.h"
#include "perceptcl/pipeline.h"
#include "perceptcl/rng.h"
#include "perceptcl/tensor.h"
#include "perceptcl/layers.h"
#include "perceptcl/model.h"
#include "perceptcl/optimizer.h"
#include "perceptcl/checkpoint.h"
#include "perceptcl/train.h"
#include "perceptcl/trainer.h"
#include "perceptcl/comm.h"
#include "perceptcl/architectures.h"
#include "perceptcl/srcnn.h"

#endif
