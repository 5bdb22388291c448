// xa.backend: which device, what it is, and Keras' image data format.
export { info, imageDataFormat, setImageDataFormat, cudaStatus, getBackend, setBackend } from './backend.js';
