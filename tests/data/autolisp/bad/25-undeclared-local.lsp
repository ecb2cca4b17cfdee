;; expect: undeclared-local
(defun c:LLEN (/ ss)
  (setq ss (ssget '((0 . "LINE"))))
  (setq total 0.0)
  (princ total)
  (princ)
)
