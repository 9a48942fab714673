import { render } from 'preact';
import { App } from './app.tsx';
import './styles/base.css';
import './styles/status.css';
import './styles/lists.css';
import './styles/run.css';
import './styles/details.css';
import './styles/timeline.css';

render(<App />, document.getElementById('app') as HTMLElement);
