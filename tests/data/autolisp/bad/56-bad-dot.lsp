;; expect: bad-dot
(defun c:DOT (/ ss)
  (setq ss (ssget '((0 . "LINE" . "ARC"))))
  (princ)
)
