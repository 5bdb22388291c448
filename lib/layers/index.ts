export { Layer } from './layer.js';
export type { ActivationName, LayerArgs } from './layer.js';
export { Dense } from './dense.js';
export type { DenseArgs } from './dense.js';
export { Conv2D } from './conv2d.js';
export type { Conv2DArgs } from './conv2d.js';
export { MaxPooling2D, AveragePooling2D } from './pooling2d.js';
export type { Pooling2DArgs } from './pooling2d.js';
export { Flatten, Dropout, Activation } from './simple.js';
